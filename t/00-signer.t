# The suite's own signer and token builder (t/lib/WCIM/Sign.pm) against the
# vectors of protocol.md, before any other test relies on them. No server.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use MIME::Base64 qw(decode_base64);
use WCIM::JSON qw(jint);
use WCIM::Sign qw(SECRET param_str sign_sha1 sign_md5 user_token);

is(SECRET, '8924d49e61e1dc9e1618d3bae21ea493', 'the weclubs secret');

my @v1 = (student_id => '2', size => '20', type => '1');
is(param_str(\@v1), 'size20student_id2type1', 'paramStr sorts keys by bytes');
is(sign_sha1(\@v1), '59056cc1f4666dfc21e519cf0e74061d4a437550', 'vector 1, SHA1 form');
is(sign_md5(\@v1), '307abb960a5a54a05abb1da9d491b45a', 'vector 1, MD5-of-SHA1 form');

my @v2 = (user_id => '21',
          token => 'MzdkYmFiNzkwNWVjNWM4MDFkZjU0NWEwMDE4ODlkOWFfZGF0ZT0xNDkwMDg0NzMyMjgw');
is(sign_sha1(\@v2), '1f793f5ad9f27465e6e3414a3ecb265d0f4de5d8', 'vector 2, SHA1 form');

my $seed = 'NmQ1NTY2MjY2MTUxZDM4ZjE0YTM5ZWJhYmE5NTIwMDRfZGF0ZT0xNDkxODk4NzM5MDk4';
my @v3 = (user_id => '38', token => $seed);
is(sign_md5(\@v3), '0705b4dc0a406ed0e3bc5013c685943c', 'vector 3, MD5-of-SHA1 form');
is(sign_sha1(\@v3), '56072054521d911e34d7c0345a54990d4d2e891f', 'vector 3, SHA1 form');
my @v3int = (user_id => jint(38), token => $seed);
is(sign_md5(\@v3int), '0705b4dc0a406ed0e3bc5013c685943c',
   'vector 3 with user_id as JSON integer 38: same signature');
isnt(sign_md5(\@v3), '5d7d99de073c7ca73aa1e3188313933a',
     "the seed's placeholder sign matches neither form");
isnt(sign_sha1(\@v3), '5d7d99de073c7ca73aa1e3188313933a', '... nor the SHA1 form');

# order of the pairs given does not matter; key order is by bytes, so 'Z' < 'a'
is(sign_md5([reverse_pairs(@v1)]), sign_md5(\@v1), 'input order irrelevant');
is(param_str([a => '1', Z => '2', _ => '3']), 'Z2_3a1', 'byte order: Z < _ < a');
is(param_str([t => JSON::PP::true(), f => JSON::PP::false(), n => undef, i => jint(-7)]),
   'ffalsei-7nnullttrue', 'true/false/null/integers as text');

# the user token formula, checked against independent tools (md5sum, base64)
my $tok = user_token('secretpw', 38, 'chrome_test', 1491898739098);
my $inner = shell_md5('secretpw38');
my $digest = shell_md5($inner . 'chrome_test');
is($tok, shell_base64($digest . '_date=1491898739098'),
   'user_token = base64(md5hex(md5hex(pw+uid)+caller)+"_date="+date)');
like(decode_base64($seed), qr/^[0-9a-f]{32}_date=1491898739098\z/,
     "the seed's token decodes to <md5hex>_date=<create_date>");

done_testing();

sub reverse_pairs {
    my @p = @_;
    my @out;
    while (@p) { my ($k, $v) = splice @p, -2; push @out, $k, $v }
    return @out;
}

sub shell_md5 {
    my $s = shift;
    open my $fh, '-|', 'sh', '-c', 'printf %s "$1" | md5sum', 'sh', $s or die;
    my $out = <$fh>;
    close $fh;
    return (split ' ', $out)[0];
}

sub shell_base64 {
    my $s = shift;
    open my $fh, '-|', 'sh', '-c', 'printf %s "$1" | base64 -w0', 'sh', $s or die;
    local $/;
    my $out = <$fh>;
    close $fh;
    return $out;
}
