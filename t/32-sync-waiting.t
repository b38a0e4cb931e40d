# The sync that waits (issue 27, items 2 and 3): while a user's group
# sync is under way on a hanging RongCloud, his later lists update the one
# job that waits behind it, with their newer set, instead of queueing a
# job each (t/22 cannot see that: its queue holds 8,192) or keeping the
# older set.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes ();
use HTTP::Request ();
use Apache::Test ();
use WCIM::Request ();
use WCIM::DB ();
use WCIM::StandIn ();

my $SYNC = WCIM::StandIn::SYNC;
my $BASE = 733000;
my $token = WCIM::DB::make_users($BASE, 3, clubs => 3);
my $conn;
my $rel = $BASE + 500;     # relation rows this test adds

# a list of user $uid, kept alive: its result_code
sub list { WCIM::Request::list_code(\$conn, $_[0], $token->{$_[0]}) }

sub queued {
    my $req = HTTP::Request->new(GET => WCIM::Request::url('/im-status'));
    my $res = WCIM::Request::ua()->request($req);
    # no reading is a broken test, not an empty queue
    return $res->content =~ /^weclubs_im_group_syncs_queued (\d+)$/m ? $1
        : die "no weclubs_im_group_syncs_queued on the status page (HTTP " . $res->code . ")\n";
}

sub join_club {
    my ($uid, $club) = @_;
    WCIM::DB::sql("INSERT INTO t_student_club_graduate_relation (stu_clu_gra_rel_id, graduate_id, student_id, status, super_admin, is_del) VALUES ("
                  . $rel++ . ", $club, $uid, 1, 0, 0)");
}

sub groups_of { WCIM::StandIn::sync_clubs(@_) }

sub syncs_of {
    my ($uid, $since) = @_;
    return WCIM::StandIn::calls_for($SYNC, "im_user_id_$uid", $since);
}

WCIM::StandIn::reset();

# item 2: 300 lists of one user, his set changed after his first sync
# started (so each list finds a sync due): one job waits, not 300
{
    my $uid = $BASE;
    my $since = WCIM::StandIn::last_seq();
    WCIM::StandIn::mode('hang', path => $SYNC, delay => 3, count => 3);
    is(list($uid), '2000', "user $uid lists");
    WCIM::StandIn::wait_calls($SYNC, "im_user_id_$uid", $since, 1, 5);
    join_club($uid, $BASE + 1);
    my ($n, $bad, $most, $t0) = (0, 0, 0, Time::HiRes::time());
    while ($n < 300) {
        $bad++ unless list($uid) eq '2000';
        $n++;
        if ($n % 25 == 0) {
            my $q = queued();
            $most = $q if $q > $most;
        }
    }
    is($bad, 0, sprintf("300 lists against a hanging RongCloud answered 2000 (%.1f s)",
                        Time::HiRes::time() - $t0));
    cmp_ok($most, '<=', 2, "weclubs_im_group_syncs_queued stayed at 2 or less (at most $most)");
    cmp_ok($most, '>=', 1, 'the gauge saw the sync of his new set waiting behind the hung one');
    WCIM::StandIn::mode('ok');
}

# item 3: while his sync hangs, a list with set A queues a sync; his clubs
# change; a list with set B: the sync that waits now carries B
{
    my $uid = $BASE + 1;                     # club $BASE+1
    WCIM::StandIn::mode('hang', path => $SYNC, delay => 3, count => 1);
    my $since = WCIM::StandIn::last_seq();
    is(list($uid), '2000', "user $uid lists (his first sync hangs)");
    WCIM::StandIn::wait_calls($SYNC, "im_user_id_$uid", $since, 1, 5);
    join_club($uid, $BASE);                  # set A
    is(list($uid), '2000', "user $uid lists with set A while the sync hangs");
    join_club($uid, $BASE + 2);              # set B
    is(list($uid), '2000', "user $uid lists with set B");
    my $want = join ' ', sort ($BASE, $BASE + 1, $BASE + 2);
    my $deadline = Time::HiRes::time() + 15;
    my $calls;
    while (1) {
        $calls = syncs_of($uid, $since);
        last if (@$calls && groups_of($calls->[-1]) eq $want && defined $calls->[-1]{status})
             || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.2);
    }
    Time::HiRes::sleep(1);
    $calls = syncs_of($uid, $since);
    is(@$calls ? groups_of($calls->[-1]) : '', $want,
       "the last group/sync for $uid carries set B")
        or diag(join ' / ', map { groups_of($_) . " ($_->{mode})" } @$calls);
    ok(!grep({ groups_of($_) eq join(' ', sort ($BASE, $BASE + 1)) } @$calls),
       'set A (replaced while it waited) was never sent')
        or diag(join ' / ', map { groups_of($_) . " ($_->{mode})" } @$calls);
    $since = WCIM::StandIn::last_seq();
    is(list($uid), '2000', "user $uid lists with set B again");
    Time::HiRes::sleep(1.5);
    is(scalar @{ syncs_of($uid, $since) }, 0, 'set B synced already: no call');
}

WCIM::StandIn::mode('ok');
done_testing();
