# Faults: the database or RongCloud going wrong under a running httpd. Each
# fault must end in a defined answer (5000 for the database, 3000 for
# RongCloud) with a clear line in t/logs/error_log, must not hang or stick
# a worker (a normal request answers within a second meanwhile and
# afterwards), and must heal without restarting httpd once it clears.
#
# SQLite (WCIM_DB_ENGINE=sqlite, the default): file-level faults on a
# scratch copy of the test database, t/db/scratch.sqlite (made here, in
# rollback-journal mode), served by two virtual hosts of
# t/conf/extra.conf.in: wcim_scratchdb (DBDPersist Off: a connection per
# request, so a missing or unreadable file is seen at once) and
# wcim_scratchdb_keep (persistent connections, as in production). Without
# those vhosts these cases are skipped. Faults: file renamed away and back,
# mode 000 and back, a sqlite3 process holding BEGIN EXCLUSIVE past the busy
# timeout, the header overwritten and restored.
#
# MariaDB / PostgreSQL (t/run-suite.sh, WCIM_DB_DIR and WCIM_DB_PORT set):
# the server is stopped with scripts/db-server.sh, then started again.
#
# Every engine, first: the RongCloud stand-in hangs (mode hang) on getToken.
#
# Suspected defects run as TODO tests (expectation of the spec kept):
# D6 a persistent SQLite connection keeps a replaced file open; D7 a locked
# SQLite read takes 17 busy timeouts + 1.6 s (apr_dbd_sqlite3's retries);
# D8 PostgreSQL query errors read as "no rows"; D9 no recovery of pooled
# connections after a database server restart.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Copy ();
use IO::Handle ();
use IO::Select ();
use IO::Socket::INET ();
use IPC::Open2 ();
use POSIX ();
use Time::HiRes ();
use Apache::Test ();
use Apache::TestRequest ();

use WCIM::JSON ();
use WCIM::Request qw(envelope post check_answer data_for FAIL_MSG SEED_LIST);
use WCIM::Sign ();
use WCIM::DB ();
use WCIM::StandIn ();

my $config = Apache::Test::config();    # before any fork
my $engine = WCIM::DB::engine();
my $t_dir = WCIM::DB::t_dir();
my $top = "$t_dir/..";
my $error_log = Apache::Test::vars('t_logs') . '/error_log';
my $LIST = 'get_group_chat_list';

# The busy timeout of the scratch vhosts (their DBDInitSQL), in seconds.
# apr_dbd_sqlite3 retries a statement that got SQLITE_BUSY 16 more times,
# 100 ms apart, each attempt waiting the busy timeout again with a
# process-wide mutex held: a locked read fails after 17 x busy + 1.6 s
# (D7). The spec's expectation (about the busy timeout) is a TODO test; the
# hard limit is that bound plus 3 s: an answer, not a hang.
my $BUSY = 0.3;
my $APR_BOUND = 17 * $BUSY + 1.6 + 3;

# Suspected module defects, run as TODO tests with the spec's expectation:
my $D8 = 'D8: pgsql, sequential apr_dbd_pselect: a failed query reads as "no rows" '
       . '(3010 here; an empty group set synced to RongCloud elsewhere)';
my $D9 = 'D9: after a database server restart, pooled connections come back without '
       . 'their prepared statements (driver reconnect / PQreset): 5000 until DBDExptime';

# --- helpers ---------------------------------------------------------------------
sub timed {
    my ($code) = @_;
    my $t0 = Time::HiRes::time();
    my $res = $code->();
    return ($res, Time::HiRes::time() - $t0);
}

sub ask {
    my ($vhost, $endpoint, %o) = @_;
    return timed(sub { post($endpoint || $LIST, envelope(%o), vhost => $vhost) });
}

# A normal request on the main server answers 2000 within a second.
sub healthy {
    my ($name) = @_;
    my ($res, $t) = ask(undef, $LIST);
    check_answer($res, "$name: a normal request answers", code => 2000, data => SEED_LIST);
    cmp_ok($t, '<', 1, sprintf("$name: ... within a second (%.3f s)", $t));
}

# A request that needs no database (caller refused) answers at once.
sub alive {
    my ($name) = @_;
    my ($res, $t) = ask(undef, $LIST, caller => 'evil_app');
    check_answer($res, "$name: a request that needs no database answers", code => 3004);
    cmp_ok($t, '<', 1, sprintf("$name: ... within a second (%.3f s)", $t));
}

sub log_mark { -s $error_log || 0 }

sub log_since {
    my ($mark, $re) = @_;
    open my $fh, '<:raw', $error_log or return ();
    seek $fh, $mark, 0;
    my @l = grep { $_ =~ $re } <$fh>;
    close $fh;
    chomp @l;
    return @l;
}

sub logged {
    my ($mark, $re, $name) = @_;
    Time::HiRes::sleep(0.1);
    my @l = log_since($mark, $re);
    ok(scalar @l, "$name: error_log has a line matching $re")
        or diag("error_log since the fault:\n" . join("\n", log_since($mark, qr/./)));
    note("  log: $_") for @l[0 .. ($#l < 2 ? $#l : 2)];
}

# Run a request in a child; returns a sub that waits for it and gives
# (decoded answer or undef, HTTP status, elapsed).
sub in_background {
    my ($vhost, $endpoint, %o) = @_;
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $r;
        my ($res, $t) = ask($vhost, $endpoint, %o);
        my $a = WCIM::JSON::decode($res->content);
        print $w join("\t", $res->code, ($a && ref $a eq 'HASH' ? $a->{result_code} : 'none'),
                      $t), "\n";
        close $w;
        POSIX::_exit(0);
    }
    close $w;
    return sub {
        my $line = <$r>;
        close $r;
        waitpid($pid, 0);
        return split /\t/, ($line // "599\tnone\t-1\n") =~ s/\n\z//r;
    };
}

sub vhost_ok { my $v = shift; return $config->{vhosts}{$v} ? 1 : 0 }

# --- RongCloud hangs ------------------------------------------------------------------
{
    # users of our own, so that no earlier test has their token cached
    my $now = int(Time::HiRes::time() * 1000);
    my @uids = (1300 .. 1307);
    for my $uid (@uids) {
        WCIM::DB::sql("INSERT INTO t_student (student_id, school_id, mobile, nick_name, "
            . "real_name, password, avatar_url, birthday, qrcode_url, class_name, "
            . "graduate_year, status, is_del) VALUES ($uid, 1, '139$uid', 'h$uid', "
            . "'hang$uid', 'pw$uid', NULL, NULL, NULL, NULL, 2016, 1, 0)");
        my $token = WCIM::Sign::user_token("pw$uid", $uid, 'chrome_test', $now);
        WCIM::DB::sql("INSERT INTO t_token (uid, token, caller, create_date) "
            . "VALUES ($uid, '$token', 'chrome_test', $now)");
    }
    my $GT = WCIM::StandIn::GET_TOKEN;
    WCIM::StandIn::reset();
    my $mark = log_mark();
    WCIM::StandIn::mode('hang', path => $GT, delay => 15);

    # main server: WeclubsIMRongCloudTimeout 2
    my ($res, $t) = ask(undef, 'get_token', data => data_for(1300));
    check_answer($res, 'RongCloud hangs: get_token', code => 3000, msg => FAIL_MSG);
    cmp_ok($t, '>=', 1.5, sprintf('RongCloud hangs: waited for the time-out (%.3f s)', $t));
    cmp_ok($t, '<=', 2 + 1, 'RongCloud hangs: ... answered within the 2 s time-out + 1 s');
    logged($mark, qr/\[weclubs_im:error\].*WCIM0122: RongCloud getToken for im_user_id_1300 failed/,
           'RongCloud hangs');

    # several at once, while normal requests go on
    my @waits = map { my $u = $_; [$u, in_background(undef, 'get_token', data => data_for($u))] }
                1301 .. 1305;
    Time::HiRes::sleep(0.3);
    healthy('while 5 get_token calls wait for RongCloud');
    for (@waits) {
        my ($uid, $wait) = @$_;
        my ($status, $code, $tt) = $wait->();
        is("$status $code", '200 3000', "RongCloud hangs: concurrent get_token for $uid: 3000");
        cmp_ok($tt, '<=', 2 + 1.5, sprintf("... within the time-out (%.3f s)", $tt));
    }

    # a vhost with a 1 s time-out
    if (vhost_ok('wcim_rcslow')) {
        ($res, $t) = ask('wcim_rcslow', 'get_token', data => data_for(1306));
        check_answer($res, 'RongCloud hangs, time-out 1 s: get_token', code => 3000, msg => FAIL_MSG);
        cmp_ok($t, '<=', 1 + 1, sprintf('... within 1 s + 1 s (%.3f s)', $t));
    }
    healthy('after RongCloud hung');

    WCIM::StandIn::mode('ok');
    ($res, $t) = ask(undef, 'get_token', data => data_for(1300));
    my $a = check_answer($res, 'RongCloud back: get_token for the same user', code => 2000);
    like($a && $a->{data} ? $a->{data}{im_token} // '' : '', qr/\Atok-im_user_id_1300-/,
         'RongCloud back: a fresh token (the failure was not cached)');
    cmp_ok($t, '<', 1, sprintf('RongCloud back: answered at once (%.3f s)', $t));
    ($res) = ask(undef, 'get_token', data => data_for(1307));
    check_answer($res, 'RongCloud back: another user', code => 2000);

    WCIM::DB::sql('DELETE FROM t_token WHERE uid BETWEEN 1300 AND 1307');
    WCIM::DB::sql('DELETE FROM t_student WHERE student_id BETWEEN 1300 AND 1307');
}

# --- SQLite file faults ------------------------------------------------------------
SKIP: {
    skip "file faults are SQLite's (engine $engine)", 1 unless $engine eq 'sqlite';
    skip 'no <VirtualHost wcim_scratchdb> and wcim_scratchdb_keep in t/conf/extra.conf.in', 1
        unless vhost_ok('wcim_scratchdb') && vhost_ok('wcim_scratchdb_keep');
    skip 'running as root: mode 000 would not keep the server out', 1 if $> == 0;

    my $db = "$t_dir/db/scratch.sqlite";
    my $away = "$db.away";
    my $pristine = "$db.pristine";
    unlink map { "$db$_" } '', '-journal', '-wal', '-shm', '.away', '.pristine';
    WCIM::DB::sql(".backup '$db'", WCIM::DB::path());
    WCIM::DB::sql('PRAGMA journal_mode=DELETE', $db);
    File::Copy::copy($db, $pristine) or die "copy: $!";
    chmod 0644, $db;

    # the suite's database is in WAL mode: no warning so far; the scratch
    # copy is not: said once a process (WCIM0210)
    is(scalar(log_since(0, qr/WCIM0210/)), 0, 'a database in WAL mode: no journal warning');
    my $jmark = log_mark();
    my @vh = (['wcim_scratchdb', 'a connection per request'],
              ['wcim_scratchdb_keep', 'persistent connections']);
    for (@vh) {
        my ($v, $what) = @$_;
        my ($res) = ask($v, $LIST);
        check_answer($res, "$v ($what): the scratch database works", code => 2000,
                     data => SEED_LIST);
    }
    logged($jmark, qr/\[weclubs_im:warn\].*WCIM0210: the SQLite database is in journal mode 'delete', not WAL/,
           'a database outside WAL mode');

    # 1. missing: renamed away, then back
    {
        my $mark = log_mark();
        rename $db, $away or die "rename: $!";
        my ($res, $t) = ask('wcim_scratchdb', $LIST);
        check_answer($res, 'file renamed away: wcim_scratchdb', code => 5000);
        cmp_ok($t, '<', 1, sprintf('file renamed away: answered at once (%.3f s)', $t));
        logged($mark, qr/\[weclubs_im:error\].*WCIM0145: no database connection/,
               'file renamed away');
        logged($mark, qr/(?:\[dbd:error\]|WCIM01\d\d:).*(?:no such table|unable to open|not a database)/,
               'file renamed away, the cause');
        ($res, $t) = ask('wcim_scratchdb', 'get_token');
        check_answer($res, 'file renamed away: get_token', code => 5000);
        # connections opened before the rename still read the renamed file
        ($res) = ask('wcim_scratchdb_keep', $LIST);
        check_answer($res, 'file renamed away: an open persistent connection reads on',
                     code => 2000, data => SEED_LIST);
        healthy('file renamed away');
        # sqlite3_open() may have left an empty database at the path
        note('an empty file was created at the missing path') if -e $db;
        rename $away, $db or die "rename back: $!";
        ($res, $t) = ask('wcim_scratchdb', $LIST);
        check_answer($res, 'file back: wcim_scratchdb recovers', code => 2000, data => SEED_LIST);
    }

    # 2. unreadable: mode 000, then back
    {
        my $mark = log_mark();
        chmod 0000, $db or die "chmod: $!";
        my ($res, $t) = ask('wcim_scratchdb', $LIST);
        check_answer($res, 'file mode 000: wcim_scratchdb', code => 5000);
        cmp_ok($t, '<', 1, sprintf('file mode 000: answered at once (%.3f s)', $t));
        logged($mark, qr/\[weclubs_im:error\].*WCIM0145: no database connection/,
               'file mode 000');
        logged($mark, qr/(?:\[dbd:error\]|WCIM01\d\d:).*(?:unable to open|Can't connect)/,
               'file mode 000, the cause');
        healthy('file mode 000');
        chmod 0644, $db or die "chmod back: $!";
        ($res) = ask('wcim_scratchdb', $LIST);
        check_answer($res, 'file mode 644 again: recovers', code => 2000, data => SEED_LIST);
    }

    # 3. locked: a writer holds BEGIN EXCLUSIVE longer than the busy timeout
    {
        my ($res) = ask('wcim_scratchdb_keep', $LIST);   # a warm connection
        check_answer($res, 'before the lock: wcim_scratchdb_keep', code => 2000,
                     data => SEED_LIST);
        my $mark = log_mark();
        my $pid = IPC::Open2::open2(my $out, my $in, $WCIM::DB::SQLITE3, '-batch', $db);
        $in->autoflush(1);
        print $in "BEGIN EXCLUSIVE;\nSELECT 'locked';\n";
        my $sel = IO::Select->new($out);
        my $line = $sel->can_read(10) ? <$out> : undef;
        is($line, "locked\n", 'a sqlite3 process holds an exclusive lock');

        my $keep = in_background('wcim_scratchdb_keep', $LIST);
        Time::HiRes::sleep(0.2);
        healthy('while a request waits for the lock');
        my ($status, $code, $t) = $keep->();
        is("$status $code", '200 5000', 'locked: wcim_scratchdb_keep answers 5000');
        cmp_ok($t, '>=', 0.8 * $BUSY, sprintf('locked: ... after the busy timeout (%.3f s)', $t));
        cmp_ok($t, '<=', $APR_BOUND, sprintf('locked: ... within %.1f s: an answer, not a hang',
                                             $APR_BOUND));
        TODO: {
            local $TODO = 'D7: apr_dbd_sqlite3 waits 17 busy timeouts + 1.6 s, holding a '
                        . 'process-wide mutex';
            cmp_ok($t, '<=', $BUSY + 2, "locked: ... within the busy timeout ($BUSY s) + 2 s");
        }
        logged($mark, qr/\[weclubs_im:error\].*WCIM0110: reading the token of user 38: .*locked/,
               'locked, persistent connection');

        $mark = log_mark();
        my $t1;
        ($res, $t1) = ask('wcim_scratchdb', $LIST);
        check_answer($res, 'locked: wcim_scratchdb', code => 5000);
        cmp_ok($t1, '<=', $BUSY + 2, sprintf('locked: wcim_scratchdb within %.1f s + 2 s (%.3f s)',
                                             $BUSY, $t1));
        logged($mark, qr/\[weclubs_im:error\].*WCIM01(?:45|10)/, 'locked, new connection');
        healthy('locked');

        print $in "COMMIT;\n.quit\n";
        close $in;
        close $out;
        waitpid($pid, 0);
        for my $v (qw(wcim_scratchdb wcim_scratchdb_keep)) {
            my ($r, $tt) = ask($v, $LIST);
            check_answer($r, "lock released: $v recovers", code => 2000, data => SEED_LIST);
            cmp_ok($tt, '<', 1, sprintf("lock released: $v answers at once (%.3f s)", $tt));
        }
    }

    # 4. corrupt: the first 100 bytes (header) overwritten in place, then
    # the good bytes written back
    {
        my $mark = log_mark();
        open my $fh, '+<:raw', $db or die "$db: $!";
        print $fh 'x' x 100;
        close $fh or die "$db: $!";
        for my $v (qw(wcim_scratchdb wcim_scratchdb_keep)) {
            my ($r, $t) = ask($v, $LIST);
            check_answer($r, "header overwritten: $v", code => 5000);
            cmp_ok($t, '<', 1, sprintf("header overwritten: $v answers at once (%.3f s)", $t));
        }
        logged($mark, qr/\[weclubs_im:error\].*WCIM01(?:45|10)/, 'header overwritten');
        logged($mark, qr/not a database/, 'header overwritten, the cause');
        healthy('header overwritten');

        open my $src, '<:raw', $pristine or die "$pristine: $!";
        read $src, my $good, 100;
        close $src;
        open $fh, '+<:raw', $db or die "$db: $!";
        print $fh $good;
        close $fh or die "$db: $!";
        for my $v (qw(wcim_scratchdb wcim_scratchdb_keep)) {
            my ($r) = ask($v, $LIST);
            check_answer($r, "header restored: $v recovers", code => 2000, data => SEED_LIST);
        }
    }

    # 5. corrupt, then replaced by a good copy renamed over it (how files
    # are usually restored): a connection per request sees the new file at
    # once; a persistent connection must too, without a restart
    {
        open my $fh, '+<:raw', $db or die "$db: $!";
        print $fh 'x' x 100;
        close $fh;
        my ($r) = ask('wcim_scratchdb_keep', $LIST);
        check_answer($r, 'corrupt again: wcim_scratchdb_keep', code => 5000);
        File::Copy::copy($pristine, "$db.new") or die "copy: $!";
        rename "$db.new", $db or die "rename: $!";
        ($r) = ask('wcim_scratchdb', $LIST);
        check_answer($r, 'good copy renamed over it: wcim_scratchdb recovers', code => 2000,
                     data => SEED_LIST);
        TODO: {
            local $TODO = 'D6: a persistent SQLite connection keeps the replaced (corrupt) '
                        . 'file open until DBDExptime or a restart';
            local $WCIM::Request::TODO = $TODO;
            my $ok = 0;
            for (1 .. 4) {      # each of the vhost's connections may be asked
                ($r) = ask('wcim_scratchdb_keep', $LIST);
                my $a = WCIM::JSON::decode($r->content);
                $ok++ if $a && ref $a eq 'HASH' && $a->{result_code} == 2000;
            }
            is($ok, 4, 'good copy renamed over it: wcim_scratchdb_keep recovers');
        }
        healthy('after the replaced file');
    }
    unlink map { "$db$_" } '-journal', '.away', '.pristine', '.new';
}

# --- database server stopped and started (MariaDB, PostgreSQL) -----------------------
SKIP: {
    skip "server faults are MariaDB's and PostgreSQL's (engine $engine)", 1
        if $engine eq 'sqlite';
    my ($dir, $port) = @ENV{qw(WCIM_DB_DIR WCIM_DB_PORT)};
    my $script = "$top/scripts/db-server.sh";
    skip 'WCIM_DB_DIR / WCIM_DB_PORT unset (t/run-suite.sh sets them)', 1
        unless $dir && $port && -x $script;

    my $listening = sub {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                      Timeout => 1);
        close $s if $s;
        return $s ? 1 : 0;
    };
    healthy("$engine server up");
    my $mark = log_mark();
    system($script, 'stop', $engine, $dir) == 0 or diag("db-server.sh stop: $?");
    my $deadline = Time::HiRes::time() + 30;
    Time::HiRes::sleep(0.2) while $listening->() && Time::HiRes::time() < $deadline;
    ok(!$listening->(), "$engine server stopped");

    for my $i (1 .. 3) {
        for my $ep ($LIST, 'get_token') {
            my ($res, $t) = ask(undef, $ep);
            {
                # the first request on each pooled PostgreSQL connection
                local $TODO = undef;   # was D8, fixed
                local $WCIM::Request::TODO = $TODO;
                check_answer($res, "$engine down: $ep #$i", code => 5000);
            }
            cmp_ok($t, '<', 2, sprintf("$engine down: $ep #$i answered within 2 s (%.3f s)", $t));
        }
    }
    logged($mark, qr/\[weclubs_im:error\].*WCIM01(?:45|10|21|13)/, "$engine down");
    alive("$engine down");

    system($script, 'start', $engine, $dir, $port) == 0
        or BAIL_OUT("could not start the $engine server again: db-server.sh start: $?");
    my ($code, $tries) = ('none', 0);
    $deadline = Time::HiRes::time() + 20;
    while (Time::HiRes::time() < $deadline) {
        $tries++;
        my ($res) = ask(undef, $LIST);
        my $a = WCIM::JSON::decode($res->content);
        $code = $a && ref $a eq 'HASH' ? $a->{result_code} : 'none';
        last if $code eq '2000';
        Time::HiRes::sleep(0.2);
    }
    TODO: {
        local $TODO = undef;   # was D9, fixed
        local $WCIM::Request::TODO = $TODO;
        is($code, 2000, "$engine back: answers 2000 again without an httpd restart ($tries tries)");
        my ($res) = ask(undef, $LIST);
        check_answer($res, "$engine back: a normal request", code => 2000, data => SEED_LIST);
        ($res) = ask(undef, 'get_token');
        check_answer($res, "$engine back: get_token", code => 2000);
    }
    # D9 would leave httpd's pooled connections broken for the test files
    # after this one: if so, a graceful restart (new children, new pools)
    if ($code ne '2000') {
        diag("$engine: no recovery without a restart (D9); graceful restart of httpd "
             . 'so that the following test files get a working database');
        my $pidfile = Apache::Test::vars('t_logs') . '/httpd.pid';
        open my $pf, '<', $pidfile or BAIL_OUT("$pidfile: $!");
        chomp(my $pid = <$pf>);
        close $pf;
        kill USR1 => $pid;
        $deadline = Time::HiRes::time() + 30;
        while (Time::HiRes::time() < $deadline) {
            Time::HiRes::sleep(0.5);
            my ($res) = ask(undef, $LIST);
            my $a = WCIM::JSON::decode($res->content);
            $code = $a && ref $a eq 'HASH' ? $a->{result_code} : 'none';
            last if $code eq '2000';
        }
        is($code, 2000, "$engine: answers 2000 after a graceful restart");
    }
}

done_testing();
