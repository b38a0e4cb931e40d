# Reconciliation (issue 24): RongCloud follows the weclubs tables with no
# request from the student concerned. Every change below is made in the
# database alone; the test then waits (at most three intervals of 1 s, plus
# the time the pass's paced calls take) for RongCloud to be told, and
# checks what the stand-in then holds. Vhost wcim_reconcile: passes every
# second while logs/reconcile.on exists (made here, then httpd restarted
# gracefully; removed at the end).
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Encode qw(encode_utf8);
use Time::HiRes ();
use Apache::Test ();
use WCIM::Request qw(im);
use WCIM::DB ();
use WCIM::JSON ();
use WCIM::Load ();
use WCIM::StandIn ();

my $BASE = 790000;
my $VHOST = 'wcim_reconcile';
my $SYNC = WCIM::StandIn::SYNC;
my $REFRESH = '/user/refresh.json';
my $BLOCK = '/user/block.json';
my $UNBLOCK = '/user/unblock.json';
my $N = 6;                                   # students, in 2 clubs
my $t_logs = Apache::Test::vars('t_logs');
my $flag = "$t_logs/reconcile.on";
my %token = %{ WCIM::DB::make_users($BASE, $N, clubs => 2) };
my @uids = map { $BASE + $_ } 0 .. $N - 1;
my ($QUITS, $RENAMED, $FROZEN, $CLUB) = ($BASE + 0, $BASE + 1, $BASE + 2, $BASE + 1);
# student i is in club BASE + i % 2: club BASE+1 has students 1, 3, 5

sub restart { WCIM::Load::graceful_restart($VHOST) or BAIL_OUT('httpd did not come back') }

sub metric { WCIM::Load::metric(qq{weclubs_im_reconcile_total{what="$_[0]"}}) }

# calls to $path for student $uid after $since, waiting up to $timeout s
# for at least one that satisfies $ok (all of them when $ok is undef)
sub wait_for {
    my ($path, $uid, $since, $timeout, $ok) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        my @c = grep { !$ok || $ok->($_) }
                @{ WCIM::StandIn::calls_for($path, "im_user_id_$uid", $since) };
        return \@c if @c || Time::HiRes::time() >= $deadline;
        Time::HiRes::sleep(0.2);
    }
}

# the students RongCloud knows are this test's alone: the pass would
# otherwise go through every other test's token rows
WCIM::DB::sql($_) for 'DELETE FROM t_im_rc_token', 'DELETE FROM t_im_rc_told',
                      'DELETE FROM t_im_rc_lease';
WCIM::StandIn::reset();
WCIM::StandIn::forget();

# every student gets a token (a row): RongCloud knows them
for my $uid (@uids) {
    my $res = im('get_token', vhost => $VHOST, data => [user_id => "$uid", token => $token{$uid}]);
    my $a = eval { WCIM::JSON::decode($res->content) } || {};
    is($a->{result_code}, 2000, "student $uid has a token");
}
my $since = WCIM::StandIn::last_seq();
is(scalar @{ WCIM::StandIn::calls(path => $SYNC, since => $since) }, 0,
   'no pass yet: reconciliation is off in this vhost until the flag');

open my $fh, '>', $flag or die "$flag: $!";
close $fh;
restart();

# --- the first pass tells RongCloud each student's set -------------------
for my $uid (@uids) {
    my $club = $BASE + ($uid - $BASE) % 2;
    my $c = wait_for($SYNC, $uid, $since, 8);
    is(WCIM::StandIn::sync_clubs($c->[0] // {}), $club,
       "first pass: student ${uid}'s set (club $club) synced, with no request of his");
}
cmp_ok(WCIM::Load::metric('weclubs_im_reconcile_passes_total'), '>=', 1,
       'passes counted on the status page');

# --- nothing changed: no call --------------------------------------------
Time::HiRes::sleep(1.5);
$since = WCIM::StandIn::last_seq();
Time::HiRes::sleep(3.2);
my @quiet = grep { $_->{path} ne '/_control' } @{ WCIM::StandIn::calls(since => $since) };
is(scalar @quiet, 0, 'three intervals with nothing changed: no RongCloud call')
    or diag(join ', ', map { $_->{path} } @quiet);

# --- a student quits his club (status 0): he leaves the group -------------
$since = WCIM::StandIn::last_seq();
WCIM::DB::sql("UPDATE t_student_club_graduate_relation SET status = 0 WHERE stu_clu_gra_rel_id = $QUITS");
my $left = wait_for($SYNC, $QUITS, $since, 3 + 2);
ok(@$left, 'the student who quit: a group/sync within three intervals');
is(WCIM::StandIn::sync_clubs($left->[0] // {}), '', 'with an empty set: unbound from the club');
is_deeply(WCIM::StandIn::groups_of("im_user_id_$QUITS"), {}, 'RongCloud holds him in no group');
ok(!grep({ $_ eq "im_user_id_$QUITS" } @{ WCIM::StandIn::members("im_club_id_$BASE") }),
   'and the club\'s group no longer lists him');
is(scalar(grep { WCIM::StandIn::field($_, 'userId') ne "im_user_id_$QUITS" }
                @{ WCIM::StandIn::calls(path => $SYNC, since => $since) }), 0,
   'and no one else synced');

# --- a student is renamed: user/refresh with the new name ------------------
$since = WCIM::StandIn::last_seq();
WCIM::DB::sql("UPDATE t_student SET real_name = '新名字' WHERE student_id = $RENAMED");
my $ref = wait_for($REFRESH, $RENAMED, $since, 5);
is(WCIM::StandIn::field($ref->[0] // {}, 'name'), '新名字', 'a renamed student reaches RongCloud (user/refresh)');
is(WCIM::StandIn::user_info("im_user_id_$RENAMED")->{name}, '新名字', 'RongCloud holds the new name');
my $row = WCIM::DB::sql("SELECT profile FROM t_im_rc_token WHERE user_id = 'im_user_id_$RENAMED'");
my $res = im('get_token', vhost => $VHOST, data => [user_id => "$RENAMED", token => $token{$RENAMED}]);
$since = WCIM::StandIn::last_seq() if 0;
is(scalar @{ WCIM::StandIn::calls_for($REFRESH, "im_user_id_$RENAMED", $ref->[0]{seq}) }, 0,
   'his next get_token costs no second refresh (the row and the cache follow)');

# --- a club is renamed: its members' sets carry the new name ---------------
$since = WCIM::StandIn::last_seq();
WCIM::DB::sql("UPDATE t_club SET name = '改名社团' WHERE club_id = $CLUB");
for my $uid (grep { ($_ - $BASE) % 2 == 1 } @uids) {
    my $c = wait_for($SYNC, $uid, $since, 6);
    my ($name) = map { $_->[1] } grep { $_->[0] eq "group[im_club_id_$CLUB]" } @{ ($c->[0] // {})->{form} || [] };
    is($name, '改名社团', "member $uid: the renamed club reaches RongCloud");
}
is(WCIM::StandIn::group_info("im_club_id_$CLUB")->{name}, '改名社团', 'RongCloud holds the new club name');

# --- a student is frozen, then thawed --------------------------------------
$since = WCIM::StandIn::last_seq();
my $blocked0 = metric('blocked');
my $frozen_token = WCIM::DB::sql("SELECT token FROM t_im_rc_token WHERE user_id = 'im_user_id_$FROZEN'")->[0][0];
ok(WCIM::StandIn::connects($frozen_token), 'before: the frozen-to-be student\'s token connects');
WCIM::DB::sql("UPDATE t_student SET status = 4 WHERE student_id = $FROZEN");
my $blk = wait_for($BLOCK, $FROZEN, $since, 5);
ok(@$blk, 'a frozen student: user/block');
is(WCIM::StandIn::field($blk->[0] // {}, 'minute'), 43200, 'for 30 days, RongCloud\'s longest');
$row = WCIM::DB::sql("SELECT LENGTH(token) FROM t_im_rc_token WHERE user_id = 'im_user_id_$FROZEN'");
is($row->[0][0], 0, 'his token is dropped from the table');
ok(WCIM::StandIn::user_info("im_user_id_$FROZEN")->{blocked}, 'RongCloud holds him blocked');
ok(!WCIM::StandIn::connects($frozen_token), 'the token he held no longer connects');
cmp_ok(metric('blocked') - $blocked0, '>=', 1, 'counted (what="blocked")');
Time::HiRes::sleep(2.5);
is(scalar @{ WCIM::StandIn::calls_for($BLOCK, "im_user_id_$FROZEN", $blk->[0]{seq}) }, 0,
   'blocked once, not at every pass');

$since = WCIM::StandIn::last_seq();
WCIM::DB::sql("UPDATE t_student SET status = 1 WHERE student_id = $FROZEN");
my $unb = wait_for($UNBLOCK, $FROZEN, $since, 5);
ok(@$unb, 'thawed: user/unblock');
ok(!WCIM::StandIn::user_info("im_user_id_$FROZEN")->{blocked}, 'RongCloud holds him unblocked');
$res = im('get_token', vhost => $VHOST, data => [user_id => "$FROZEN", token => $token{$FROZEN}]);
my $a = eval { WCIM::JSON::decode($res->content) } || {};
is($a->{result_code}, 2000, 'his next get_token answers');
like(($a->{data} || {})->{im_token} // '', qr/^tok-im_user_id_$FROZEN-/, 'with a new token');
ok(WCIM::StandIn::connects(($a->{data} || {})->{im_token} // ''), 'which connects');

# --- what was told survives a restart (and its emptied cache) ----------------
$since = WCIM::StandIn::last_seq();
restart();
Time::HiRes::sleep(3.2);
my @after = grep { $_->{path} ne '/_control' && $_->{path} ne WCIM::StandIn::GET_TOKEN }
            @{ WCIM::StandIn::calls(since => $since) };
is(scalar @after, 0, 'after a restart: nothing is told again')
    or diag(join ', ', map { $_->{path} . ' ' . (WCIM::StandIn::field($_, 'userId') // '') } @after);

# and the new children pass at once: the lease is the node's, not a child's
$since = WCIM::StandIn::last_seq();
my $QUITS2 = $BASE + 4;
WCIM::DB::sql("UPDATE t_student_club_graduate_relation SET status = 0 WHERE stu_clu_gra_rel_id = $QUITS2");
ok(@{ wait_for($SYNC, $QUITS2, $since, 3 + 2) },
   'a change after the graceful restart reaches RongCloud within three intervals');

unlink $flag;
restart();
WCIM::DB::sql($_) for 'DELETE FROM t_im_rc_told', 'DELETE FROM t_im_rc_lease';
done_testing();
