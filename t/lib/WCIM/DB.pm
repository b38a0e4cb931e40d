package WCIM::DB;
# The test database, through its engine's command-line client: sqlite3 on
# t/db/weclubs.sqlite (the default), or the MariaDB / PostgreSQL server that
# t/run-suite.sh started, chosen by WCIM_DB_ENGINE (sqlite, mysql, pgsql)
# with WCIM_DB_DIR (the server's socket folder) and WCIM_DB_PORT.
use strict;
use warnings;

use Encode qw(decode_utf8 encode_utf8);
use File::Spec ();
use FindBin ();
use POSIX ();
use Time::HiRes ();

our $SQLITE3 = 'sqlite3';
our $NAME = 'weclubs_test';     # database name on a server engine

sub engine { $ENV{WCIM_DB_ENGINE} || 'sqlite' }

sub t_dir {
    return $ENV{WCIM_TOP} ? File::Spec->catdir($ENV{WCIM_TOP}, 't')
                          : File::Spec->rel2abs(File::Spec->catdir($FindBin::Bin));
}

sub path { File::Spec->catfile(t_dir(), 'db', 'weclubs.sqlite') }

# The client command line for the engine; $admin: without a database
# selected (to create it).
sub client {
    my ($db, $admin) = @_;
    my $engine = engine();
    if ($engine eq 'mysql') {
        return ('mariadb', '--no-defaults', '-S', "$ENV{WCIM_DB_DIR}/mysqld.sock",
                '-uroot', '--default-character-set=utf8mb4', '-N', '-B',
                ($admin ? () : ($NAME)));
    }
    if ($engine eq 'pgsql') {
        return ('psql', '-X', '-q', '-At', '-F', "\t", '-h', $ENV{WCIM_DB_DIR},
                '-p', $ENV{WCIM_DB_PORT}, '-U', 'postgres', '-v', 'ON_ERROR_STOP=1',
                '-d', ($admin ? 'postgres' : $NAME));
    }
    return ($SQLITE3, '-batch', '-bail', '-noheader', '-separator', "\t",
            '-cmd', '.timeout 5000', $db || path());
}

# Run SQL; returns rows as array refs of (decoded) strings. Dies on error.
sub sql {
    my ($sql, $db, $admin) = @_;
    my @cmd = client($db, $admin);
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        my $flag = engine() eq 'sqlite' ? () : engine() eq 'mysql' ? '-e' : '-c';
        exec @cmd, ($flag ? ($flag) : ()), encode_utf8($sql);
        die "exec $cmd[0]: $!";
    }
    local $/;
    my $out = <$fh>;
    close $fh;
    die "$cmd[0] failed ($?): $out\nSQL: $sql\n" if $?;
    $out = decode_utf8(defined $out ? $out : '');
    return [ map { [ split /\t/, $_, -1 ] } split /\n/, $out ];
}

# Feed SQL text (files' contents, statements) to the engine's client.
sub script {
    my ($db, @lines) = @_;
    my @cmd = client($db);
    my $pid = open(my $in, '|-') // die "cannot fork $cmd[0]: $!\n";
    if (!$pid) {
        open STDOUT, '>', '/dev/null';      # PRAGMA journal_mode prints "wal"
        exec(@cmd) or POSIX::_exit(127);
    }
    print $in "$_\n" for @lines;
    close $in or die "$cmd[0] failed (status $?)\n";
}

sub quote {
    my $s = shift;
    $s =~ s/'/''/g;
    return "'$s'";
}

# The stored token of (uid, caller); dies when there is none.
sub token {
    my ($uid, $caller) = @_;
    my $rows = sql(sprintf 'SELECT token FROM t_token WHERE uid = %d AND caller = %s',
                   $uid, quote($caller));
    die "no t_token row for ($uid, $caller)\n" unless @$rows;
    return $rows->[0][0];
}

# make_users($base, $n, %o): students $base .. $base+$n-1 with a token for
# `caller` (default chrome_test) created `now` (ms); with clubs => K, K
# approved clubs numbered from $base, user i a member of club i % K.
# Earlier rows in those ranges are replaced. Returns { uid => token }.
sub make_users {
    my ($base, $n, %o) = @_;
    require WCIM::Sign;
    my $caller = $o{caller} || 'chrome_test';
    my $now = $o{now} || int(Time::HiRes::time() * 1000);
    my $clubs = $o{clubs} || 0;
    my (%token, @students, @tokens, @rels, @clubrows, @terms);
    for my $k (0 .. $clubs - 1) {
        my $c = $base + $k;
        push @clubrows, "($c, 1, 'club $c', 'http://img.example.com/c/$c.png', 1)";
        push @terms, "($c, $c, 1, 1)";
    }
    for my $i (0 .. $n - 1) {
        my $uid = $base + $i;
        my $tok = WCIM::Sign::user_token("pw$uid", $uid, $caller, $now);
        $token{$uid} = $tok;
        push @students, "($uid, '13$i', 'nick$uid', 'student $uid', 'http://img.example.com/u/$uid.png', 1)";
        push @tokens, "($uid, '$tok', '$caller', $now)";
        push @rels, "($uid, " . ($base + $i % $clubs) . ", $uid, 1, 0, 0)" if $clubs;
    }
    my $end = $base + ($n > $clubs ? $n : $clubs);
    my @sql = ("DELETE FROM t_token WHERE uid >= $base AND uid < $end",
               "DELETE FROM t_student WHERE student_id >= $base AND student_id < $end",
               "DELETE FROM t_student_club_graduate_relation WHERE stu_clu_gra_rel_id >= $base AND stu_clu_gra_rel_id < $end",
               "DELETE FROM t_club_graduate WHERE club_graduate_id >= $base AND club_graduate_id < $end",
               "DELETE FROM t_club WHERE club_id >= $base AND club_id < $end");
    my $batch = sub {
        my ($head, $rows) = @_;
        my @r = @$rows;
        push @sql, "$head VALUES " . join(',', splice(@r, 0, 500)) while @r;
    };
    $batch->('INSERT INTO t_club (club_id, school_id, name, avatar_url, status)', \@clubrows);
    $batch->('INSERT INTO t_club_graduate (club_graduate_id, club_id, graduate_count, is_current)', \@terms);
    $batch->('INSERT INTO t_student (student_id, mobile, nick_name, real_name, avatar_url, status)', \@students);
    $batch->('INSERT INTO t_token (uid, token, caller, create_date)', \@tokens);
    $batch->('INSERT INTO t_student_club_graduate_relation (stu_clu_gra_rel_id, graduate_id, student_id, status, super_admin, is_del)', \@rels);
    script(undef, map { "$_;" } @sql);
    return \%token;
}

1;
