# The module's cache at a campus's scale (issue 16), with the default
# WeclubsIMCache (the test server sets none): thousands of distinct users
# each get one getToken call however often they ask, their lists sync once
# each, and a callback nonce is still refused after thousands of other
# callbacks within the window. A cache that files its keys badly holds a
# few dozen entries and fails all three.
# WCIM_SCALE_USERS sets the number of users (default 5000).
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Digest::SHA qw(sha1_hex);
use JSON::PP ();
use POSIX ();
use Time::HiRes ();
use Apache::Test ();
use WCIM::Request ();
use WCIM::DB ();
use WCIM::Sign ();
use WCIM::StandIn ();
use WCIM::Load ();

my $N = $ENV{WCIM_SCALE_USERS} || 5000;
my $BASE = 700000;           # student ids of this test's users
my $CLUBS = 100;             # each user is a member of one of these
my $CLUB_BASE = $BASE;       # (clubs numbered from $BASE too)
my $WORKERS = 4;
my $CALLER = 'chrome_test';

plan tests => 10;

# --- the users, their tokens and clubs ---------------------------------------
my %token = %{ WCIM::DB::make_users($BASE, $N, clubs => $CLUBS) };

# every uid asks $rounds times through the campus host (RongCloud raised
# this App Key's limits, so that a cache test is not a rate limit test:
# t/28-rate-limits.t is that); returns the answers that were not 2000
sub run_all {
    my ($endpoint, $uids, $rounds) = @_;
    return WCIM::Load::not_2000(WCIM::Load::run_all($endpoint, $uids, \%token,
        rounds => $rounds, workers => $WORKERS, vhost => 'wcim_campus'));
}

sub count_calls {
    my ($path) = @_;
    return WCIM::StandIn::control('count', path => $path)->{count};
}

# settles: the count of $path calls once it stops growing (syncs run after
# the answer, on the children's sync threads)
sub settled_count {
    my ($path, $want) = @_;
    my ($last, $same) = (-1, 0);
    my $deadline = Time::HiRes::time() + 60;
    while (Time::HiRes::time() < $deadline) {
        my $n = count_calls($path);
        $same = $n == $last ? $same + 1 : 0;
        $last = $n;
        last if $same >= 10 || ($n >= $want && $same >= 3);
        Time::HiRes::sleep(0.1);
    }
    return $last;
}

my @uids = map { $BASE + $_ } 0 .. $N - 1;
WCIM::StandIn::reset();
WCIM::StandIn::control('limits', path => $_, rate => 2000)
    for WCIM::StandIn::GET_TOKEN, WCIM::StandIn::SYNC;

# --- get_token: one getToken per user, however often each asks --------------
my $t0 = Time::HiRes::time();
is(run_all('get_token', \@uids, 3), 0, "$N users x 3 get_token: every answer 2000");
my $gt = count_calls(WCIM::StandIn::GET_TOKEN);
is($gt, $N, "$N users x 3 get_token: $N getToken calls (one per user)")
    or diag("a cache that forgets makes up to " . 3 * $N);
note(sprintf "get_token phase: %.1f s", Time::HiRes::time() - $t0);

# a second pass much later still finds every token
is(run_all('get_token', \@uids, 1), 0, 'all users again: 2000');
is(count_calls(WCIM::StandIn::GET_TOKEN), $N, 'and still no further getToken call');

# --- group lists: one group/sync per user ----------------------------------
# A burst of thousands of first lists waits in the sync threads' queues
# (one small job per user): every user's set reaches RongCloud once, none
# is dropped (issue 17: the queues held 128 jobs a thread, and such a burst
# dropped hundreds, WCIM0280, left to each user's next list).
sub syncs_per_user {
    my %n;
    for my $call (@{ WCIM::StandIn::calls(path => WCIM::StandIn::SYNC) }) {
        my $u = WCIM::StandIn::field($call, 'userId');
        $n{$u}++ if defined $u && $u =~ /^im_user_id_(\d+)$/ && $1 >= $BASE;
    }
    return \%n;
}

$t0 = Time::HiRes::time();
my $dropped0 = WCIM::Load::metric('weclubs_im_group_syncs_dropped_total');
is(run_all('get_group_chat_list', \@uids, 1), 0, "$N users list their groups: 2000");
settled_count(WCIM::StandIn::SYNC, $N);
my $per = syncs_per_user();
is_deeply([scalar(keys %$per), scalar(grep { $_ != 1 } values %$per),
           WCIM::Load::metric('weclubs_im_group_syncs_dropped_total') - $dropped0],
          [$N, 0, 0], "the first lists of $N users: each user's groups synced "
          . "exactly once, none dropped");
is(run_all('get_group_chat_list', \@uids, 1), 0, 'all the lists again: 2000');
settled_count(WCIM::StandIn::SYNC, $N);
$per = syncs_per_user();
is_deeply([scalar(keys %$per), scalar(grep { $_ != 1 } values %$per)], [$N, 0],
          "and no user synced again: each list finds its digest");
note(sprintf "list phase: %.1f s", Time::HiRes::time() - $t0);

# --- callback nonces: still refused after thousands of others ---------------
{
    my $secret = 'testappsecret';
    my ($host, $port) = WCIM::Request::url('/', 'wcim_messages') =~ m{//([^:/]+):(\d+)};
    my ($conn, $seq) = (undef, 0);
    my $post = sub {
        my ($nonce, $ts) = @_;
        my $sig = sha1_hex($secret . $nonce . $ts);
        my $path = "/im/rongcloud?nonce=$nonce&signTimestamp=$ts&signature=$sig";
        my $uid = 'scale-' . $$ . '-' . ++$seq;
        my $body = "fromUserId=im_user_id_$BASE&toUserId=im_club_id_$CLUB_BASE"
                 . "&objectName=RC%3ATxtMsg&channelType=GROUP&msgTimestamp=$ts"
                 . "&msgUID=$uid&content=%7B%22content%22%3A%22hi%22%7D";
        return (WCIM::Request::post_keepalive(\$conn, $host, $port, $path,
                               'application/x-www-form-urlencoded', $body))[0];
    };
    my $ms = sub { int(Time::HiRes::time() * 1000) };
    my ($first, $ts0) = ("first$$", $ms->());
    my $st = $post->($first, $ts0);
    my $others = 3000;
    my $bad = 0;
    $post->("n$$" . "x$_", $ms->()) == 200 or $bad++ for 1 .. $others;
    is($st == 200 && $bad == 0 ? 'stored' : "first $st, $bad others not 200",
       'stored', "a callback, then $others others: 200 each");
    is($post->($first, $ts0), 401,
       "the first callback's nonce, replayed after $others others: 401");
}
