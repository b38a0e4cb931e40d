# WeclubsIMReplayWindow was removed (issue 12, item 14): the signature
# covers only `data`, so a captured request came back with a new id and
# passed; no server-side check of the id can stop a replay without new
# clients (docs/security.md). A configuration that still has it starts,
# says so once per start (WCIM0012), and ids are not checked.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Apache::Test ();
use WCIM::Request qw(im check_answer);
use WCIM::Setup ();

my $id = 'replay-' . $$ . '-' . time;

check_answer(im('get_group_chat_list', user => 38, id => $id, vhost => 'wcim_replay'),
             'WeclubsIMReplayWindow given: 2000', code => 2000);
check_answer(im('get_group_chat_list', user => 38, id => $id, vhost => 'wcim_replay'),
             'the same id again: 2000 (ids are not checked)', code => 2000);
check_answer(im('get_group_chat_list', user => 38, id => '', vhost => 'wcim_replay'),
             'an empty id: 2000', code => 2000);

# the start-up warnings of this server's start: said once, not on both of
# httpd's start-up passes. The log may hold earlier starts: this start's
# lines end with its "resuming normal operations" (AH00489).
my $all = WCIM::Setup::slurp(Apache::Test::vars('t_logs') . '/error_log');
my @starts = split /^.*AH00489.*$/m, $all;
my $log = @starts > 1 ? $starts[-2] : $all;
my @replay = $log =~ /(WCIM0012: WeclubsIMReplayWindow is ignored \(server [^)]*\))/g;
is(scalar @replay, 1, 'WCIM0012 said once for the server that has it')
    or diag(join "\n", @replay);
my @nosign = $log =~ /(WCIM0002: WeclubsIMSignCheck is Off)/g;
is(scalar @nosign, 1, 'start-up warnings said once per start (WCIM0002)');

done_testing();
