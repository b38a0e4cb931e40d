# One user's lists cannot crowd the sync queue (issue 12, item 16): while a
# user's group sync waits, a further list of that user updates the set
# that waits instead of queueing another job. Before, 3 s of one user's
# lists against a hanging RongCloud filled a sync thread's 128 slots and
# other users' syncs were dropped (WCIM0280).
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes ();
use Apache::Test ();
use WCIM::Request ();
use WCIM::DB ();
use WCIM::StandIn ();

my $SYNC = WCIM::StandIn::SYNC;
my $BASE = 720000;
my $OTHERS = 30;
my $token = WCIM::DB::make_users($BASE, $OTHERS + 1, clubs => 3);
my $hot = $BASE;                       # the user who lists and lists
my @others = map { $BASE + $_ } 1 .. $OTHERS;
my $conn;

# a list of user $uid, kept alive: its result_code
sub list { WCIM::Request::list_code(\$conn, $_[0], $token->{$_[0]}) }

sub syncs_of {
    my ($uid, $since) = @_;
    return scalar @{ WCIM::StandIn::calls_for($SYNC, "im_user_id_$uid", $since) };
}

my $error_log = Apache::Test::vars('t_logs') . '/error_log';
my $mark = -s $error_log || 0;
WCIM::StandIn::reset();
my $since = WCIM::StandIn::last_seq();
# the first five syncs hang (past the 2 s RongCloud timeout: about 10 s
# of a blocked sync thread), then all is well
WCIM::StandIn::mode('hang', path => $SYNC, delay => 2.5, count => 5);

# 300 lists of one user (a busy machine may need more than a few seconds)
my ($n, $bad, $t0) = (0, 0, Time::HiRes::time());
while ($n < 300 && Time::HiRes::time() - $t0 < 8) {
    $bad++ unless list($hot) eq '2000';
    $n++;
}
cmp_ok($n, '>=', 300, sprintf("user $hot listed $n times in %.1f s against a hanging RongCloud",
                              Time::HiRes::time() - $t0));
is($bad, 0, 'every list answered 2000');
$bad = 0;
for my $uid (@others) {
    $bad++ unless list($uid) eq '2000';
}
is($bad, 0, "$OTHERS other users list: 2000");

# every other user's sync reaches RongCloud once the hang is over
my $deadline = Time::HiRes::time() + 40;
my @missing;
while (1) {
    @missing = grep { syncs_of($_, $since) < 1 } @others;
    last if !@missing || Time::HiRes::time() > $deadline;
    Time::HiRes::sleep(0.2);
}
is(scalar @missing, 0, "every one of the $OTHERS other users' syncs was made")
    or diag("not synced: @missing");
cmp_ok(syncs_of($hot, $since), '<=', 6,
       "user $hot: at most the syncs under way and one waiting, not one per list ("
       . syncs_of($hot, $since) . ')');

open my $fh, '<:raw', $error_log or die "$error_log: $!";
seek $fh, $mark, 0;
my @dropped = grep { /WCIM0280/ } <$fh>;
close $fh;
is(scalar @dropped, 0, 'no sync dropped (WCIM0280)') or diag(@dropped);

WCIM::StandIn::mode('ok');
done_testing();
