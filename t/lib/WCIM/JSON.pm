package WCIM::JSON;
# A tiny JSON writer that keeps key order and JSON types under the test's
# control (requests with duplicate keys, integers vs strings, floats...).
#
#   obj(k => v, ...)   an object, keys in the order given (duplicates kept)
#   arr(v, ...)        an array
#   int(n)             a JSON integer (n written as is)
#   raw($text)         JSON text inserted verbatim
#   plain string       a JSON string; undef: null; JSON::PP::true/false
#
# encode() returns a character string; callers encode it to UTF-8.
use strict;
use warnings;

use JSON::PP ();
use Exporter 'import';

our @EXPORT_OK = qw(obj arr jint raw encode decode);

sub obj  { bless [@_], 'WCIM::JSON::Obj' }
sub arr  { bless [@_], 'WCIM::JSON::Arr' }
sub jint { my $n = shift; bless \$n, 'WCIM::JSON::Int' }
sub raw  { my $t = shift; bless \$t, 'WCIM::JSON::Raw' }

sub string {
    my $s = shift;
    $s =~ s/(["\\])/\\$1/g;
    $s =~ s/([\x00-\x1f])/sprintf '\\u%04x', ord $1/ge;
    return qq("$s");
}

sub encode {
    my $v = shift;
    return 'null' unless defined $v;
    return $v ? 'true' : 'false' if JSON::PP::is_bool($v);
    my $r = ref $v;
    return string($v) unless $r;
    return ${$v} if $r eq 'WCIM::JSON::Int' || $r eq 'WCIM::JSON::Raw';
    if ($r eq 'WCIM::JSON::Obj') {
        my @p = @$v;
        my @out;
        while (my ($k, $x) = splice @p, 0, 2) {
            push @out, string($k) . ':' . encode($x);
        }
        return '{' . join(',', @out) . '}';
    }
    return '[' . join(',', map { encode($_) } @$v) . ']'
        if $r eq 'WCIM::JSON::Arr';
    die "WCIM::JSON::encode: cannot encode a $r";
}

# Decode UTF-8 JSON bytes; undef when they are not JSON.
sub decode {
    my $bytes = shift;
    my $v = eval { JSON::PP->new->utf8->allow_nonref->decode($bytes) };
    return $v;
}

1;
