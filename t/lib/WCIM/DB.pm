package WCIM::DB;
# The test database (t/db/weclubs.sqlite), through the sqlite3 CLI.
use strict;
use warnings;

use Encode qw(decode_utf8 encode_utf8);
use File::Spec ();
use FindBin ();

our $SQLITE3 = 'sqlite3';

sub t_dir {
    return $ENV{WCIM_TOP} ? File::Spec->catdir($ENV{WCIM_TOP}, 't')
                          : File::Spec->rel2abs(File::Spec->catdir($FindBin::Bin));
}

sub path { File::Spec->catfile(t_dir(), 'db', 'weclubs.sqlite') }

# Run SQL; returns rows as array refs of (decoded) strings. Dies on error.
sub sql {
    my ($sql, $db) = @_;
    $db ||= path();
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec $SQLITE3, '-batch', '-bail', '-noheader', '-separator', "\t",
             '-cmd', '.timeout 5000', $db, encode_utf8($sql);
        die "exec $SQLITE3: $!";
    }
    local $/;
    my $out = <$fh>;
    close $fh;
    die "sqlite3 failed ($?): $out\nSQL: $sql\n" if $?;
    $out = decode_utf8(defined $out ? $out : '');
    return [ map { [ split /\t/, $_, -1 ] } split /\n/, $out ];
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

1;
