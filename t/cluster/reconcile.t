#!/usr/bin/perl
# Reconciliation over two nodes (issue 24): both nodes share PostgreSQL and
# redis and pass every second, yet one change makes one call in all (the
# App Key's lease row lets one node pass); when that node stops, the other
# takes the lease once it runs out and goes on. Only the database changes:
# no request of the students concerned.
# Run apart like t/cluster/two-nodes.t:
#   WCIM_TWO_NODES=1 prove t/cluster/reconcile.t   (as a user other than root)
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Test::More;
plan skip_all => 'runs apart (WCIM_TWO_NODES=1)' unless $ENV{WCIM_TWO_NODES};
use HTTP::Tiny ();
use Time::HiRes ();
use WCIM::Cluster ();
use WCIM::DB ();
use WCIM::Sign ();
use WCIM::StandIn ();     # sync_clubs, field

my $SYNC = '/group/sync.json';
my $BASE = 736000;
my $N = 10;
my $cl = WCIM::Cluster->new(sql => ['tokens.sql', 'reconcile.sql']);
$cl->use_for_db;
my $token = WCIM::DB::make_users($BASE, $N, clubs => 2);
my $conf = "WeclubsIMTokenStore db\nWeclubsIMReconcileInterval 1\nWeclubsIMTokenRecheck off\n";
my %node = map { ($_ => $cl->start_node($_, conf => $conf)) } qw(a b);
my $json = $cl->json;

sub get_token {
    my ($base, $uid) = @_;
    my $data = [user_id => "$uid", token => $token->{$uid}];
    my $body = '{"id":"cluster","client":{"caller":"chrome_test"},"encrypt":"md5",'
             . '"sign":"' . WCIM::Sign::sign($data) . '","data":{"user_id":"' . $uid
             . '","token":"' . $token->{$uid} . '"}}';
    my $res = HTTP::Tiny->new(timeout => 10)->post("$base/im/get_token",
        { content => $body, headers => { 'Content-Type' => 'application/json' } });
    my $a = eval { $json->decode($res->{content}) } || {};
    return $a->{result_code} // "HTTP $res->{status}";
}

sub syncs_of {
    my ($uid, $since) = @_;
    return [ grep { (WCIM::StandIn::field($_, 'userId') // '') eq "im_user_id_$uid" }
             @{ $cl->control('calls', path => $SYNC, since => $since)->{calls} } ];
}

sub last_seq {
    my $calls = $cl->control('calls')->{calls};
    return @$calls ? $calls->[-1]{seq} : 0;
}

# passes logged by a node (its error log says each pass with changes)
sub passes_of { scalar(() = $cl->error_log($_[0]) =~ /WCIM0641: reconciliation pass/g) }

my $since = last_seq();
my $bad = 0;
for my $uid (map { $BASE + $_ } 0 .. $N - 1) {
    $bad++ unless get_token($node{($uid % 2) ? 'a' : 'b'}, $uid) eq '2000';
}
is($bad, 0, "$N students get tokens through both nodes");

# the first passes tell RongCloud each set: once each, by one node
Time::HiRes::sleep(5);
my @counts = map { scalar @{ syncs_of($BASE + $_, $since) } } 0 .. $N - 1;
is(scalar(grep { $_ == 1 } @counts), $N, 'each student synced exactly once over both nodes')
    or diag("syncs per student: @counts");
my ($pa, $pb) = (passes_of('a'), passes_of('b'));
ok(($pa == 0) != ($pb == 0), "one node made the passes with changes (a: $pa, b: $pb)");
my $holder = $pa ? 'a' : 'b';
my $other = $pa ? 'b' : 'a';

# a change: one call in all, within three intervals (and none more after)
my $quits = $BASE + 3;
$since = last_seq();
WCIM::DB::sql("UPDATE t_student_club_graduate_relation SET status = 0 WHERE stu_clu_gra_rel_id = $quits");
Time::HiRes::sleep(4);
my $syncs = syncs_of($quits, $since);
is(scalar @$syncs, 1, 'a student quits: one group/sync over both nodes');
is(WCIM::StandIn::sync_clubs($syncs->[0] // {}), '', 'with his set now empty');

# the node holding the lease stops: the other takes over when it runs out
$cl->stop_node($holder);
my $renamed = $BASE + 4;
$since = last_seq();
my $t0 = Time::HiRes::time();
WCIM::DB::sql("UPDATE t_club SET name = 'renamed club' WHERE club_id = $BASE");
my $got;
while (Time::HiRes::time() - $t0 < 25) {
    $got = syncs_of($renamed, $since);
    last if @$got;
    Time::HiRes::sleep(0.5);
}
ok(@{ $got || [] }, sprintf('node %s stopped: node %s passes instead (after %.1f s, the lease '
                            . 'runs for two intervals and 10 s)', $holder, $other,
                            Time::HiRes::time() - $t0));
my ($name) = map { $_->[1] } grep { $_->[0] eq "group[im_club_id_$BASE]" } @{ ($got->[0] // {})->{form} || [] };
is($name, 'renamed club', 'with the renamed club');

done_testing();
