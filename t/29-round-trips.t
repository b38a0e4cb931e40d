# One database round trip per request (issue 14): get_group_chat_list
# reads the token and the groups with one statement (token_groups),
# get_token the token and the student (token_user), counted by the
# database server itself (MariaDB: Com_stmt_execute; PostgreSQL:
# pg_stat_statements); the answers are those of the two statements each
# replaces, for every test user (wcim_twotrips: WeclubsIMSQL token set, so
# each takes two); and statements that cannot be prepared leave the two
# serving (wcim_tgmissing).
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Apache::Test ();
use WCIM::Request qw(im check_answer);
use WCIM::DB ();

my $list = 'get_group_chat_list';
my $engine = WCIM::DB::engine();

sub body_of {
    my $res = shift;
    (my $b = $res->content) =~ s/("sys_time":)\d+/${1}SYS_TIME/;
    return ($res->code, $b);
}

# every user of t/sql/test-data.sql with a chrome_test token (ids below
# 1000; other tests add thousands of generated users above it)
my @uids = map { $_->[0] }
    @{ WCIM::DB::sql("SELECT uid FROM t_token WHERE caller = 'chrome_test' AND uid < 1000 ORDER BY uid") };
cmp_ok(scalar @uids, '>=', 20, 'test users with a token: ' . scalar @uids);

# --- the same answers as the two statements ---------------------------------
{
    my ($same, $listed, $clubs) = (0, 0, 0);
    for my $uid (@uids) {
        my @one = body_of(im($list, user => $uid));
        my @two = body_of(im($list, user => $uid, vhost => 'wcim_twotrips'));
        my @gone = body_of(im($list, user => $uid, vhost => 'wcim_tgmissing'));
        if ($one[1] eq $two[1] && $one[1] eq $gone[1] && $one[0] == $two[0]) {
            ++$same;
        }
        else {
            diag("user $uid:\n one statement: $one[1]\n two: $two[1]\n fallback: $gone[1]");
        }
        ++$listed if $one[1] =~ /"result_code":2000/;
        $clubs += () = $one[1] =~ /"club_id":/g;
    }
    is($same, scalar @uids, 'every user: the same bytes with one statement, two, and after a failed prepare');
    cmp_ok($listed, '>=', 10, "users listed: $listed ($clubs clubs in all)");
}
{
    my ($same, %codes) = (0);
    for my $uid (@uids) {
        my @one = body_of(im('get_token', user => $uid));
        my @two = body_of(im('get_token', user => $uid, vhost => 'wcim_twotrips'));
        my @gone = body_of(im('get_token', user => $uid, vhost => 'wcim_tgmissing'));
        if ($one[1] eq $two[1] && $one[1] eq $gone[1]) {
            ++$same;
        }
        else {
            diag("get_token, user $uid:\n one statement: $one[1]\n two: $two[1]\n fallback: $gone[1]");
        }
        ++$codes{$1} if $one[1] =~ /"result_code":(\d+)/;
    }
    is($same, scalar @uids, 'get_token, every user: the same bytes with one statement, two, and after a failed prepare');
    cmp_ok($codes{2000} // 0, '>=', 10, 'get_token: users served ' . ($codes{2000} // 0));
    cmp_ok($codes{3014} // 0, '>=', 1, 'get_token: users with a token but no student (3014): ' . ($codes{3014} // 0));
}

# refusals as before: no token row, a wrong token, with and without clubs
for my $case ([100, 'no membership'], [38, 'one club']) {
    my ($uid, $what) = @$case;
    for my $vhost (undef, 'wcim_twotrips') {
        my $res = im($list, user => $uid, vhost => $vhost,
                     data => [user_id => "$uid", token => 'd3Jvbmc=']);
        check_answer($res, "$what, wrong token (" . ($vhost || 'one statement') . '): 3010',
                     code => 3010);
    }
}
{
    my $res = im($list, user => 999999, data => [user_id => '999999', token => 'bm8gcm93']);
    check_answer($res, 'no token row: 3010', code => 3010);
}

# --- the one statement failing when it runs ---------------------------------
# (prepared while its view existed, run after it was dropped): the check
# order holds (a wrong token is 3010, not a database error), the answers
# are those of two statements, and the failure is logged (WCIM0114)
{
    my $logfile = Apache::Test::vars('t_logs') . '/error_log';
    my $lines = sub {
        open my $fh, '<', $logfile or die "$logfile: $!";
        my $n = grep { /WCIM0114: reading the token of user \d+ with its (?:groups|student)/ } <$fh>;
        return $n;
    };
    WCIM::DB::script(undef, 'DROP VIEW IF EXISTS t_club_tg;', 'DROP VIEW IF EXISTS t_student_tg;',
                     'CREATE VIEW t_club_tg AS SELECT * FROM t_club;',
                     'CREATE VIEW t_student_tg AS SELECT * FROM t_student;');
    my %want = map { $_ => [ (body_of(im($list, user => 38)))[1],
                             (body_of(im('get_token', user => 38)))[1] ] } 38;
    for (1 .. 6) {       # each child's connection prepares both
        im($list, user => 38, vhost => 'wcim_tgrun');
        im('get_token', user => 38, vhost => 'wcim_tgrun');
    }
    my $before = $lines->();
    WCIM::DB::script(undef, 'DROP VIEW t_club_tg;', 'DROP VIEW t_student_tg;');
    my ($wrong, $same) = (0, 0);
    for (1 .. 6) {
        for my $endpoint ($list, 'get_token') {
            my $res = im($endpoint, user => 38, vhost => 'wcim_tgrun',
                         data => [user_id => '38', token => 'd3Jvbmc=']);
            ++$wrong if $res->content =~ /"result_code":3010/;
        }
        ++$same if (body_of(im($list, user => 38, vhost => 'wcim_tgrun')))[1] eq $want{38}[0];
        ++$same if (body_of(im('get_token', user => 38, vhost => 'wcim_tgrun')))[1] eq $want{38}[1];
    }
    is($wrong, 12, 'statement failing at run time: a wrong token is still 3010');
    is($same, 12, 'statement failing at run time: the list and the token as with two statements');
    cmp_ok($lines->() - $before, '>=', 1, 'the failure is logged (WCIM0114)');
    WCIM::DB::script(undef, 'CREATE VIEW t_club_tg AS SELECT * FROM t_club;',
                     'CREATE VIEW t_student_tg AS SELECT * FROM t_student;');
}

# --- round trips, as the server counts them ---------------------------------
# MariaDB: Com_stmt_execute counts executions of prepared statements (the
# test's own client sends text queries); PostgreSQL: the calls of the
# module's statements (prepared as wcim_<tag>_<n>).
SKIP: {
    skip "round trips are counted on MariaDB and PostgreSQL, not $engine", 8
        if $engine eq 'sqlite';
    my $count;
    if ($engine eq 'mysql') {
        $count = sub {
            WCIM::DB::sql("SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'")->[0][1];
        };
    }
    else {
        WCIM::DB::sql('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
        $count = sub {
            WCIM::DB::sql("SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s "
                          . "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = "
                          . "current_database() AND s.query LIKE 'PREPARE wcim%'")->[0][0];
        };
    }
    # users served by both endpoints (a student row, a token)
    my @users = grep {
        im('get_token', user => $_) ->content =~ /"result_code":2000/
    } @uids;
    @users = @users[0 .. 19] if @users > 20;
    # the tokens read first: the test's own queries are not the module's
    my %data = map { $_ => WCIM::Request::data_for($_) } @users;
    for my $case ([$list, undef], [$list, 'wcim_twotrips'],
                  ['get_token', undef], ['get_token', 'wcim_twotrips']) {
        my ($endpoint, $vhost) = @$case;
        # warm: connections, prepared statements, cached RongCloud tokens
        im($endpoint, data => $data{$_}, vhost => $vhost) for @users;
        my $before = $count->();
        my $ok = 0;
        for my $uid (@users) {
            my $res = im($endpoint, data => $data{$uid}, vhost => $vhost);
            ++$ok if $res->content =~ /"result_code":2000/;
        }
        my $statements = $count->() - $before;
        my $per = $vhost ? 2 : 1;
        my $what = "$endpoint, " . ($vhost || 'default');
        is($ok, scalar @users, "$what: every request answered 2000");
        is($statements, $per * @users,
           "$what: $per statement(s) per request ($statements for "
           . scalar(@users) . ' requests)')
            or diag(explain($engine eq 'pgsql' ? WCIM::DB::sql(
                'SELECT calls, query FROM pg_stat_statements ORDER BY calls DESC LIMIT 8')
                : []));
    }
}

# the start-up note of the fallback (notice level: said once per start)
{
    my $log = do {
        local $/;
        open my $fh, '<', Apache::Test::vars('t_logs') . '/error_log' or die $!;
        <$fh>;
    };
    like($log, qr/WCIM0017: WeclubsIMSQL token is set \(server [^)]*\): get_group_chat_list reads the token and the groups with two statements/,
         'the fallback is said at start-up');
    like($log, qr/WCIM0018: WeclubsIMSQL token is set \(server [^)]*\): get_token reads the token and the student with two statements/,
         'and that of get_token');
}

done_testing();
