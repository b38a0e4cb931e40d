package WCIM::Setup;
# What t/TEST.PL does before httpd starts: build the test database and start
# the RongCloud stand-in; and stopping the stand-in again, whatever happens.
use strict;
use warnings;

use File::Path qw(make_path);
use File::Spec::Functions qw(catfile catdir);
use POSIX ();
use Time::HiRes ();

use WCIM::Sign ();
use WCIM::DB ();

my $owner = $$;         # only this process stops it (not forked children)
our $KEEP_STANDIN = 0;  # t/TEST.PL -start-httpd: leave it for a later -run

# httpd's module folder, as its apxs says (not a path of one distribution).
my $moduledir;
sub httpd_moduledir {
    return $moduledir if $moduledir;
    return $moduledir = $ENV{WCIM_HTTPD_MODULEDIR} if $ENV{WCIM_HTTPD_MODULEDIR};
    for my $apxs (grep { defined && length } $ENV{APXS}, 'apxs2', 'apxs') {
        my $dir = `$apxs -q LIBEXECDIR 2>/dev/null`;
        chomp $dir;
        return $moduledir = $dir if $dir && -d $dir;
    }
    die "cannot find httpd's module folder (set APXS or WCIM_HTTPD_MODULEDIR)\n";
}

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!\n";
    local $/;
    return scalar <$fh>;
}

# The test database from scratch: schema, demo data, test data, then the
# '@auto@' tokens of t/sql/test-data.sql; WAL mode for SQLite. Also the
# secret files of the file-secret vhost (mode 0600). Exports what
# t/conf/extra.conf.in needs to reach it: WCIM_DBD_DRIVER, WCIM_DBD_PARAMS,
# WCIM_DBD_INIT.
sub build_db {
    my ($top) = @_;
    my $t_dir = catdir($top, 't');
    my $dir = catdir($t_dir, 'db');
    my $engine = WCIM::DB::engine();
    my $name = $WCIM::DB::NAME;
    make_path($dir);
    my $db = catfile($dir, 'weclubs.sqlite');
    unlink map { "$db$_" } '', '-wal', '-shm', '-journal';

    my $schema_dir = $engine eq 'sqlite' ? 'sqlite' : $engine;
    my @files = (catfile($top, 'sql', $schema_dir, 'schema.sql'),
                 catfile($top, 'sql', $schema_dir, 'messages.sql'),
                 catfile($top, 'sql', $schema_dir, 'nonces.sql'),
                 catfile($top, 'sql', $schema_dir, 'tokens.sql'),
                 catfile($top, 'sql', $schema_dir, 'reconcile.sql'),
                 catfile($top, qw(sql sqlite demo-data.sql)),
                 catfile($t_dir, qw(sql test-data.sql)));
    if ($engine eq 'mysql') {
        WCIM::DB::sql("DROP DATABASE IF EXISTS $name; CREATE DATABASE $name "
            . "CHARACTER SET utf8mb4; CREATE USER IF NOT EXISTS "
            . "'weclubs'\@'127.0.0.1' IDENTIFIED BY 'weclubs'; "
            . "GRANT ALL ON $name.* TO 'weclubs'\@'127.0.0.1'", undef, 1);
        @ENV{qw(WCIM_DBD_DRIVER WCIM_DBD_PARAMS WCIM_DBD_INIT)} = ('mysql',
            "host=127.0.0.1 port=$ENV{WCIM_DB_PORT} user=weclubs pass=weclubs "
            . "dbname=$name", 'SET NAMES utf8mb4');
    }
    elsif ($engine eq 'pgsql') {
        WCIM::DB::sql("DROP DATABASE IF EXISTS $name", undef, 1);
        WCIM::DB::sql("CREATE DATABASE $name ENCODING 'UTF8' TEMPLATE template0",
                      undef, 1);
        @ENV{qw(WCIM_DBD_DRIVER WCIM_DBD_PARAMS WCIM_DBD_INIT)} = ('pgsql',
            "host=127.0.0.1 port=$ENV{WCIM_DB_PORT} user=postgres dbname=$name",
            'SET client_encoding = UTF8');
    }
    else {
        @ENV{qw(WCIM_DBD_DRIVER WCIM_DBD_PARAMS WCIM_DBD_INIT)} =
            ('sqlite3', $db, 'PRAGMA busy_timeout=5000');
    }
    WCIM::DB::script($db, map { slurp($_) } @files);

    my $rows = WCIM::DB::sql(q{SELECT t.uid, t.caller, t.create_date,
        COALESCE(s.password, '') FROM t_token t
        LEFT JOIN t_student s ON s.student_id = t.uid
        WHERE t.token = '@auto@'}, $db);
    my $now = int(Time::HiRes::time() * 1000);
    my @sql = ('BEGIN;');
    for my $r (@$rows) {
        my ($uid, $caller, $age, $password) = @$r;
        die "t_token ($uid, $caller): create_date must be -age_ms\n" if $age >= 0;
        my $date = $now + $age;
        my $token = WCIM::Sign::user_token($password, $uid, $caller, $date);
        push @sql, "UPDATE t_token SET token = '$token', create_date = $date"
                 . " WHERE uid = $uid AND caller = " . WCIM::DB::quote($caller) . ";";
    }
    push @sql, 'COMMIT;';
    push @sql, 'PRAGMA journal_mode=WAL;' if $engine eq 'sqlite';
    WCIM::DB::script($db, @sql);

    write_secret(catfile($dir, 'sign.secret'), WCIM::Sign::FILE_SECRET);
    write_secret(catfile($dir, 'rc.secret'), 'testappsecret');
    return $db;
}

sub write_secret {
    my ($file, $secret) = @_;
    unlink $file;
    my $old = umask 077;
    open my $fh, '>', $file or die "$file: $!\n";
    print $fh $secret;
    close $fh or die "$file: $!\n";
    umask $old;
    chmod 0600, $file;
}

# What Apache::Test is told to inherit instead of the system's apache2.conf
# (-httpd_conf): Apache::Test runs `apache2 -V -f <file>`, which needs an
# MPM, and copies the file's LoadModule lines. Generated (t/conf/*.conf is
# git-ignored); the test server's own configuration is t/conf/extra.conf.in.
sub write_inherit_conf {
    my ($top) = @_;
    my $file = catfile($top, qw(t conf inherit.conf));
    open my $fh, '>', $file or die "$file: $!\n";
    print $fh "# generated by t/TEST.PL: nothing from /etc/apache2 is inherited\n",
              "LoadModule mpm_event_module ", httpd_moduledir(), "/mod_mpm_event.so\n";
    close $fh or die "$file: $!\n";
    return $file;
}

# The stand-ins: "standin" (the RongCloud of most vhosts, WCIM_RC_PORT),
# "backup" (a second host for failover tests, WCIM_RC2_PORT) and "tls" (HTTPS
# with a certificate from a test CA, WCIM_RC_TLS_PORT; the CA's certificate
# is t/db/test-ca.pem, exported as WCIM_TEST_CA) and "blackhole" (a port
# that never completes a connection, WCIM_RC_BLACKHOLE_PORT).
my %standin_pids;       # name -> pid of the stand-ins we started
my %standin_env = (standin => 'WCIM_RC_PORT', backup => 'WCIM_RC2_PORT',
                   tls => 'WCIM_RC_TLS_PORT', blackhole => 'WCIM_RC_BLACKHOLE_PORT');

sub pid_file  { catfile($_[0], 't', 'logs', ($_[1] || 'standin') . '.pid') }
sub port_file { catfile($_[0], 't', 'logs', ($_[1] || 'standin') . '.port') }

# Stand-ins left running by an earlier run in this tree (-start-httpd, or
# a run that was killed hard).
sub kill_stale {
    my ($top) = @_;
    for my $name (keys %standin_env) {
        my $file = pid_file($top, $name);
        open my $fh, '<', $file or next;
        chomp(my $pid = <$fh> // '');
        close $fh;
        unlink $file;
        next unless $pid =~ /^\d+$/;
        open my $cmd, '<', "/proc/$pid/cmdline" or next;
        my $cmdline = do { local $/; <$cmd> } // '';
        next unless $cmdline =~ /rongcloud_standin\.py/;
        kill TERM => $pid;
    }
}

# A throwaway CA and a server certificate for 127.0.0.1 signed by it.
sub make_test_ca {
    my ($top) = @_;
    my $dir = catdir($top, 't', 'db');
    make_path($dir);
    my ($ca_key, $ca, $key, $csr, $cert, $ext) =
        map { catfile($dir, $_) } qw(test-ca.key test-ca.pem tls.key tls.csr
                                     tls.pem tls.ext);
    open my $fh, '>', $ext or die "$ext: $!\n";
    print $fh "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    close $fh;
    my @q = ('>/dev/null', '2>&1');
    for my $cmd (
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=wcim-test-ca"
          . " -keyout $ca_key -out $ca",
        "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout $key -out $csr",
        "openssl x509 -req -in $csr -CA $ca -CAkey $ca_key -CAcreateserial -days 2"
          . " -extfile $ext -out $cert") {
        system("$cmd @q") == 0 or die "failed: $cmd\n";
    }
    $ENV{WCIM_TEST_CA} = $ca;
    return ($cert, $key);
}

sub start_standin {
    my ($top, $name, @args) = @_;
    $name ||= 'standin';
    my $logs = catdir($top, 't', 'logs');
    make_path($logs);
    my $port_file = port_file($top, $name);
    unlink $port_file;
    my $log = catfile($logs, "$name.log");
    my $script = catfile($top, 't', 'rongcloud_standin.py');
    die "missing $script\n" unless -f $script;
    my $python = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';

    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>&', \*STDOUT;
        exec($python, $script, '--listen', '127.0.0.1:0',
             '--port-file', $port_file, '--log', $log, @args)
            or POSIX::_exit(127);
    }
    $standin_pids{$name} = $pid;

    my $deadline = Time::HiRes::time() + 15;
    my $port;
    while (Time::HiRes::time() < $deadline) {
        if (open my $fh, '<', $port_file) {
            my $line = <$fh>;
            if (defined $line && $line =~ /^(\d+)\s*$/) { $port = $1; last }
        }
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            delete $standin_pids{$name};
            die "the RongCloud stand-in '$name' exited at start (status $?); see $log\n";
        }
        Time::HiRes::sleep(0.05);
    }
    die "the RongCloud stand-in '$name' wrote no port file in 15 s; see $log\n"
        unless $port;

    open my $pf, '>', pid_file($top, $name) or die pid_file($top, $name) . ": $!\n";
    print $pf "$pid\n";
    close $pf;

    $ENV{$standin_env{$name}} = $port;
    $ENV{WCIM_TOP} = $top;
    return $port;
}

# All of them: the main one, the failover backup, the TLS one, the blackhole.
sub start_standins {
    my ($top) = @_;
    kill_stale($top);
    my $port = start_standin($top, 'standin');
    start_standin($top, 'backup');
    my ($cert, $key) = make_test_ca($top);
    start_standin($top, 'tls', '--tls-cert', $cert, '--tls-key', $key);
    start_standin($top, 'blackhole', '--blackhole');
    return $port;
}

sub stop_standin {
    return unless $$ == $owner;
    for my $name (keys %standin_pids) {
        my $pid = delete $standin_pids{$name};
        kill TERM => $pid;
        my $deadline = Time::HiRes::time() + 3;
        while (Time::HiRes::time() < $deadline) {
            my $r = waitpid($pid, POSIX::WNOHANG());
            last if $r == $pid || $r == -1;
            Time::HiRes::sleep(0.05);
        }
        if (kill 0 => $pid) {
            kill KILL => $pid;
            waitpid($pid, 0);
        }
        unlink pid_file($ENV{WCIM_TOP}, $name) if $ENV{WCIM_TOP};
    }
}

END {
    local $?;           # keep the test run's exit status
    stop_standin() unless $KEEP_STANDIN;
}

1;
