# Many requests at once on the threaded (event MPM) server: every answer
# must still be exactly right. 8 clients in parallel, each asking for its
# own RongCloud token (stand-in slowed to 0.3 s so the calls overlap) and
# for user 38's group list 15 times.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Encode ();
use Apache::Test ();
use WCIM::Request qw(envelope post im expected_body SEED_LIST);
use WCIM::StandIn ();
use WCIM::JSON ();

Apache::Test::config();     # load the test config before forking
WCIM::StandIn::reset();
WCIM::StandIn::mode('slow', path => WCIM::StandIn::GET_TOKEN, delay => 0.3);

my $want_list = expected_body(2000, SEED_LIST);
my $list_req = envelope();
my %kids;
for my $uid (180 .. 187) {
    my $body = envelope(data => WCIM::Request::data_for($uid));
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my @problems;
        my $res = post('get_token', $body);
        my $a = WCIM::JSON::decode($res->content);
        push @problems, "get_token $uid: " . $res->status_line . ' ' . $res->content
            unless $res->code == 200 && $a && $a->{result_code} == 2000
                && ($a->{data}{im_token} // '') =~ /\Atok-im_user_id_$uid-\d+\+\/=\z/;
        for my $i (1 .. 15) {
            my $r = post('get_group_chat_list', $list_req);
            (my $got = Encode::decode_utf8($r->content)) =~ s/("sys_time":)\d+/${1}SYS_TIME/;
            push @problems, "list #$i: " . $r->status_line . " $got"
                unless $r->code == 200 && $got eq $want_list;
        }
        print STDERR "# $_\n" for @problems;
        require POSIX;
        POSIX::_exit(@problems > 250 ? 250 : scalar @problems);
    }
    $kids{$pid} = $uid;
}

for my $pid (keys %kids) {
    waitpid($pid, 0);
    is($? >> 8, 0, "client for user $kids{$pid}: every answer right");
}
WCIM::StandIn::mode('ok');

my $calls = WCIM::StandIn::calls(path => WCIM::StandIn::GET_TOKEN);
is(scalar(grep { $_->{auth_ok} && !@{ $_->{errors} } } @$calls), scalar @$calls,
   'every concurrent getToken call was signed right and well-formed');
my %users = map { (WCIM::StandIn::field($_, 'userId') // '') => 1 } @$calls;
is_deeply([sort keys %users], [map { "im_user_id_$_" } 180 .. 187],
          'RongCloud was asked for each of the 8 users');

done_testing();
