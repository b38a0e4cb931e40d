# tools/weclubs-im-request: the request tool of the README signs requests
# the server accepts, in both forms, and reports refusals by exit status.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Encode qw(decode_utf8);
use Apache::Test ();
use WCIM::Request qw(SEED_TOKEN);
use WCIM::Sign ();

my $top = Apache::Test::config()->{vars}{top_dir};
my $tool = "$top/tools/weclubs-im-request";
my $list = WCIM::Request::url('/im/get_group_chat_list');
my $secret = WCIM::Sign::SECRET;

# run(@args) -> (exit status, output)
sub run {
    my @cmd = ('/usr/bin/python3', $tool, @_);
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or die "exec: $!";
    }
    local $/;
    my $out = <$fh>;
    close $fh;
    return ($? >> 8, decode_utf8($out // ''));
}

my ($st, $out) = run('--secret', $secret, $list, 38, SEED_TOKEN);
is($st, 0, 'md5-sha1 form: exit 0') or diag($out);
like($out, qr/"result_code": 2000/, 'md5-sha1 form: 2000');
like($out, qr/"club_name": "社团联合会"/, 'the answer is printed, Chinese as is');

($st, $out) = run('--secret', $secret, '--form', 'sha1', '--int-user-id', $list, 38, SEED_TOKEN);
is($st, 0, 'sha1 form, integer user_id: exit 0') or diag($out);

($st, $out) = run('--secret', 'not-the-secret', $list, 38, SEED_TOKEN);
is($st, 1, 'wrong secret: exit 1');
like($out, qr/"result_code": 3003/, 'wrong secret: 3003');

($st, $out) = run('--secret', $secret, '--caller', 'ios_test', $list, 38, SEED_TOKEN);
is($st, 1, "another caller's token: exit 1");
like($out, qr/"result_code": 3010/, "another caller's token: 3010");

($st, $out) = run('--secret', $secret, 'http://127.0.0.1:1/im/get_token', 38, SEED_TOKEN);
is($st, 2, 'no server: exit 2');

done_testing();
