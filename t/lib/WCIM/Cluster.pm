package WCIM::Cluster;
# Several Apache nodes beside one PostgreSQL, one redis and one RongCloud
# stand-in, all started here on loopback and stopped when the test ends
# (t/cluster/*.t; docs/cluster.md, "Running several nodes").
use strict;
use warnings;

use Cwd ();
use File::Basename ();
use File::Copy ();
use File::Path ();
use File::Temp ();
use FindBin ();
use HTTP::Tiny ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes ();
use WCIM::Setup ();
use WCIM::Sign ();

my @cleanup;
my $keep;       # [scratch folder, where its logs go] of the cluster made
END {
    my $exit = $?;
    local $?;
    $_->() for reverse @cleanup;
    @cleanup = ();
    keep_logs(@$keep, $exit) if $keep;
}

# The servers stopped, their logs are copied out of the scratch folder
# (removed next, by File::Temp) to t/logs.cluster/<test>/ in the tree, as
# t/run-suite.sh keeps an engine's in t/logs.<engine>: the nodes'
# error_log, the stand-in's log, PostgreSQL's and redis'.
sub keep_logs {
    my ($dir, $to, $exit) = @_;
    File::Path::remove_tree($to);
    File::Path::make_path($to);
    for my $log (glob("$dir/*/error_log"), "$dir/standin.log", "$dir/pg/server.log",
                 "$dir/redis/redis.log") {
        next unless -f $log;
        (my $name = substr($log, length($dir) + 1)) =~ s{/}{.}g;
        File::Copy::copy($log, "$to/$name") or warn "keeping $log: $!\n";
    }
    my $tb = Test::More->can('builder') && Test::More->builder;
    Test::More::diag("the cluster's logs are in $to")
        if $exit || ($tb && !$tb->is_passing);
}

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1) or die "socket: $!";
    return $s->sockport;
}

sub run {
    my @cmd = @_;
    system(@cmd) == 0 or die "failed: @cmd\n";
}

# new(): PostgreSQL with the weclubs schema (and `sql` => [more files of
# sql/pgsql/]) and the demo rows, redis, the stand-in.
sub new {
    my ($class, %o) = @_;
    my $top = Cwd::abs_path("$FindBin::Bin/../..");
    my $self = bless {
        top => $top,
        dir => File::Temp::tempdir('wcim-cluster.XXXXXX', TMPDIR => 1, CLEANUP => 1),
        mods => WCIM::Setup::httpd_moduledir(),
        http => HTTP::Tiny->new(timeout => 10),
        json => JSON::PP->new->utf8,
    }, $class;
    $keep = [ $self->{dir},
              "$top/t/logs.cluster/" . File::Basename::basename($0, '.t') ];
    # apxs2 or apxs, as configure finds it
    my ($apxs) = (($ENV{APXS} || ()),
                  (grep { -x } map {; "$_/apxs2", "$_/apxs" } split /:/, $ENV{PATH}),
                  'apxs');
    chomp(my $httpd = `$apxs -q SBINDIR` . '/' . `$apxs -q TARGET`);
    ($self->{httpd} = $httpd) =~ s/\n//g;
    my $dir = $self->{dir};
    ($self->{pg_port}, $self->{redis_port}) = (free_port(), free_port());
    run("$top/scripts/db-server.sh", 'start', 'pgsql', "$dir/pg", $self->{pg_port});
    push @cleanup, sub { system("$top/scripts/db-server.sh", 'stop', 'pgsql', "$dir/pg") };
    $self->start_redis;
    push @cleanup, sub { $self->stop_redis };
    $self->psql('postgres', '-c', 'CREATE DATABASE weclubs');
    $self->psql('weclubs', '-f', "$top/sql/pgsql/$_") for 'schema.sql', @{ $o{sql} || [] };
    $self->psql('weclubs', '-f', "$top/sql/sqlite/demo-data.sql");
    $self->start_standin;
    return $self;
}

sub dir { $_[0]{dir} }
sub top { $_[0]{top} }
sub http { $_[0]{http} }
sub json { $_[0]{json} }
sub rc_port { $_[0]{rc_port} }

sub psql {
    my ($self, $db, @args) = @_;
    run('psql', '-X', '-q', '-h', "$self->{dir}/pg", '-p', $self->{pg_port}, '-U',
        'postgres', '-v', 'ON_ERROR_STOP=1', '-d', $db, @args);
}

# WCIM::DB's functions (make_users, sql) on this PostgreSQL
sub use_for_db {
    my ($self) = @_;
    require WCIM::DB;
    $ENV{WCIM_DB_ENGINE} = 'pgsql';
    $ENV{WCIM_DB_DIR} = "$self->{dir}/pg";
    $ENV{WCIM_DB_PORT} = $self->{pg_port};
    $WCIM::DB::NAME = 'weclubs';
}

sub start_redis {
    my ($self) = @_;
    run("$self->{top}/scripts/db-server.sh", 'start', 'redis', "$self->{dir}/redis",
        $self->{redis_port});
}

sub stop_redis {
    my ($self) = @_;
    system("$self->{top}/scripts/db-server.sh", 'stop', 'redis', "$self->{dir}/redis");
}

sub redis_cli {
    my ($self, @cmd) = @_;
    my $out = `redis-cli -h 127.0.0.1 -p $self->{redis_port} @cmd 2>&1`;
    chomp $out;
    return $out;
}

sub start_standin {
    my ($self) = @_;
    my $dir = $self->{dir};
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', "$dir/standin.log";
        open STDERR, '>&', \*STDOUT;
        exec('/usr/bin/python3', "$self->{top}/t/rongcloud_standin.py", '--listen',
             '127.0.0.1:0', '--port-file', "$dir/standin.port") or POSIX::_exit(127);
    }
    push @cleanup, sub { kill TERM => $pid; waitpid($pid, 0) };
    for (1 .. 100) {
        if (open my $fh, '<', "$dir/standin.port") {
            my $port = <$fh>;
            if (defined $port && $port =~ /^(\d+)/) {
                $self->{rc_port} = $1;
                last;
            }
        }
        Time::HiRes::sleep(0.1);
    }
    die "the RongCloud stand-in did not start\n" unless $self->{rc_port};
}

# The stand-in's control API: control('count', path => ...)
sub control {
    my ($self, $what, %q) = @_;
    my $query = join '&', map { "$_=$q{$_}" } sort keys %q;
    my $res = $self->{http}->get("http://127.0.0.1:$self->{rc_port}/_control/$what"
                                 . ($query ? "?$query" : ''));
    die "stand-in $what: $res->{status} $res->{content}\n" unless $res->{success};
    return $self->{json}->decode($res->{content});
}

# start_httpd($root, $port): httpd on $root/httpd.conf, stopped at the end;
# its base URL once it listens
sub start_httpd {
    my ($self, $root, $port) = @_;
    run($self->{httpd}, '-f', "$root/httpd.conf", '-k', 'start');
    push @cleanup, sub { system($self->{httpd}, '-f', "$root/httpd.conf", '-k', 'stop') };
    for (1 .. 50) {
        last if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        Time::HiRes::sleep(0.1);
    }
    return "http://127.0.0.1:$port";
}

# start_node($name, %o): a node of the module on its own port (o: db_user,
# conf => more directives); returns its base URL, and its port in
# $self->{port}{$name}
sub start_node {
    my ($self, $name, %o) = @_;
    my $db_user = $o{db_user} || 'postgres';
    my $root = "$self->{dir}/$name";
    my $port = free_port();
    my $mods = $self->{mods};
    my $top = $self->{top};
    mkdir $root;
    open my $fh, '>', "$root/httpd.conf" or die $!;
    print $fh <<"EOC";
ServerRoot "$root"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$root/httpd.pid"
DefaultRuntimeDir "$root"
ErrorLog "$root/error_log"
LogLevel warn weclubs_im:debug
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule dbd_module $mods/mod_dbd.so
LoadModule socache_redis_module $mods/mod_socache_redis.so
LoadModule weclubs_im_module $top/.libs/mod_weclubs_im.so
# several children, so that the status counters must really be shared
StartServers 3
ServerLimit 3
ThreadsPerChild 4
MaxRequestWorkers 12
MinSpareThreads 4
MaxSpareThreads 12
DBDriver pgsql
DBDParams "host=127.0.0.1 port=$self->{pg_port} user=$db_user dbname=weclubs"
WeclubsIMCache redis:127.0.0.1:$self->{redis_port}
WeclubsIMSignSecret ${\ WCIM::Sign::SECRET }
WeclubsIMTokenLifetime off
WeclubsIMRongCloudAppKey testappkey
WeclubsIMRongCloudAppSecret testappsecret
WeclubsIMRongCloudURL http://127.0.0.1:$self->{rc_port}
WeclubsIMRongCloudTimeout 2
# two nodes share the App Key: each sends half of RongCloud's limits
WeclubsIMRongCloudNodes 2
@{[ $o{conf} // '' ]}
<Location /im>
    SetHandler weclubs-im
</Location>
<Location /im-status>
    SetHandler weclubs-im-status
</Location>
<Location /im-health>
    SetHandler weclubs-im-health
</Location>
EOC
    close $fh;
    $self->{port}{$name} = $port;
    return $self->start_httpd($root, $port);
}

# Stop node $name (as its start registered, now).
sub stop_node {
    my ($self, $name) = @_;
    my $root = "$self->{dir}/$name";
    system($self->{httpd}, '-f', "$root/httpd.conf", '-k', 'stop');
    # until its children are gone: its pid file goes last
    my $deadline = Time::HiRes::time() + 15;
    Time::HiRes::sleep(0.2) while -e "$root/httpd.pid" && Time::HiRes::time() < $deadline;
}

sub error_log {
    my ($self, $name) = @_;
    local $/;
    open my $fh, '<', "$self->{dir}/$name/error_log" or return '';
    return <$fh> // '';
}

1;
