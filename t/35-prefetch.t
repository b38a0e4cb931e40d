# Launch day (issue 24, WeclubsIMTokenPrefetch): 1,500 students who never
# asked for a RongCloud token get one in the background, at the configured
# rate, before they open the app; then all asking at once make no getToken
# call. Vhost wcim_prefetch: prefetch at 300 a second while
# logs/prefetch.on exists (made here, then httpd restarted gracefully;
# removed at the end). The other tests' students are removed first: the
# prefetch would go through every student of the database.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes ();
use Apache::Test ();
use WCIM::Request qw(im);
use WCIM::DB ();
use WCIM::JSON ();
use WCIM::Load ();
use WCIM::StandIn ();

my $BASE = 800000;
my $N = $ENV{WCIM_PREFETCH_USERS} || 1500;
my $VHOST = 'wcim_prefetch';
my $GT = WCIM::StandIn::GET_TOKEN;
my $t_logs = Apache::Test::vars('t_logs');
my $flag = "$t_logs/prefetch.on";

sub restart { WCIM::Load::graceful_restart($VHOST) or BAIL_OUT('httpd did not come back') }

sub rows {
    WCIM::DB::sql("SELECT COUNT(*) FROM t_im_rc_token WHERE user_id >= 'im_user_id_800000' AND user_id <= 'im_user_id_801499'")->[0][0];
}

WCIM::DB::sql($_) for
    'DELETE FROM t_student WHERE student_id >= 700000',
    'DELETE FROM t_im_rc_token', 'DELETE FROM t_im_rc_lease';
my %token = %{ WCIM::DB::make_users($BASE, $N) };
my @uids = map { $BASE + $_ } 0 .. $N - 1;
my $others = WCIM::DB::sql('SELECT COUNT(*) FROM t_student WHERE is_del = 0 AND status <> 4')->[0][0] - $N;
WCIM::StandIn::reset();
WCIM::StandIn::control('limits', path => $GT, rate => 1000);
my $since = WCIM::StandIn::last_seq();

open my $fh, '>', $flag or die "$flag: $!";
close $fh;
my $t0 = Time::HiRes::time();
restart();

# --- the prefetch: every student gets a token row, at ~300 a second -------
my $deadline = Time::HiRes::time() + 60;
Time::HiRes::sleep(0.5) while rows() < $N && Time::HiRes::time() < $deadline;
my $took = Time::HiRes::time() - $t0;
is(rows(), $N, sprintf('%d students without a token: each has one %.1f s later, none asked', $N, $took));
my $busiest = WCIM::StandIn::control('busiest', path => $GT);
cmp_ok($busiest->{calls}, '<=', 300 + 5, "at most ~300 getToken calls in any second ($busiest->{calls})");
is($busiest->{refused}, 0, 'RongCloud refused none');
my $calls = scalar @{ WCIM::StandIn::calls(path => $GT, since => $since) };
cmp_ok($calls, '>=', $N, "$calls getToken calls for $N students (and $others others of the database)");
cmp_ok(WCIM::Load::metric('weclubs_im_reconcile_total{what="prefetched"}'), '>=', $N,
       'counted on the status page (what="prefetched")');

# --- launch: all of them at once, no getToken call -------------------------
Time::HiRes::sleep(1.5);     # the last round's rows are all written
$since = WCIM::StandIn::last_seq();
my $codes = WCIM::Load::run_all('get_token', \@uids, \%token, workers => 8, vhost => $VHOST);
is(WCIM::Load::not_2000($codes), 0, "$N students ask at once: 2000 each");
is(scalar @{ WCIM::StandIn::calls(path => $GT, since => $since) }, 0,
   'and not one getToken call: their tokens were ready');

# --- a student added later is prefetched too (the scan starts again) --------
# (a finished scan starts again a minute later: not waited for here)

unlink $flag;
restart();
WCIM::StandIn::reset();
done_testing();
