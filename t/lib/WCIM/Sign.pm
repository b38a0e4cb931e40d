package WCIM::Sign;
# The request signature and the user token of protocol.md sections 3 and 4,
# written from the spec (proven against its vectors by t/00-signer.t).
#
# Values of `data` are Perl values with these meanings (see WCIM::JSON):
#   plain string       a JSON string, signed as is
#   WCIM::JSON::int(n) a JSON integer, signed in decimal
#   JSON::PP::true/false  signed as true/false
#   undef              JSON null, signed as null
#   WCIM::JSON::raw(t) any other JSON text, signed as that text (only used to
#                      build requests the server must refuse anyway)
use strict;
use warnings;

use Digest::SHA qw(sha1_hex);
use Digest::MD5 qw(md5_hex);
use MIME::Base64 qw(encode_base64);
use Encode qw(encode_utf8);
use Exporter 'import';

use WCIM::JSON ();

our @EXPORT_OK = qw(SECRET FILE_SECRET value_text param_str sign_sha1 sign_md5 sign
                    user_token);

use constant SECRET => '8924d49e61e1dc9e1618d3bae21ea493';

# The sign secret of the wcim_filesecret vhost (written to t/db/sign.secret
# by t/TEST.PL; the directive reads it with file:).
use constant FILE_SECRET => 'wcim-file-secret-5f0c2a91';

sub value_text {
    my $v = shift;
    return 'null' unless defined $v;
    return $v ? 'true' : 'false' if JSON::PP::is_bool($v);
    return WCIM::JSON::encode($v) if ref $v;    # int, raw, obj, array
    return $v;
}

# $data: an array ref of key/value pairs (order does not matter) or a hash ref
sub param_str {
    my $data = shift;
    my @pairs = ref $data eq 'HASH' ? %$data : @$data;
    my %h;
    my @keys;
    while (my ($k, $v) = splice @pairs, 0, 2) {
        push @keys, $k unless exists $h{$k};
        $h{$k} = $v;
    }
    # keys are compared as UTF-8 bytes
    my @sorted = sort { encode_utf8($a) cmp encode_utf8($b) } @keys;
    return join '', map { $_ . value_text($h{$_}) } @sorted;
}

sub _str {
    my ($data, $secret) = @_;
    $secret = SECRET unless defined $secret;
    return encode_utf8($secret . param_str($data) . $secret);
}

sub sign_sha1 { lc sha1_hex(_str(@_)) }

sub sign_md5 { lc md5_hex(uc sha1_hex(_str(@_))) }

# sign($data, form => 'md5'|'sha1', secret => ...)
sub sign {
    my ($data, %o) = @_;
    my $form = $o{form} || 'md5';
    return $form eq 'sha1' ? sign_sha1($data, $o{secret})
                           : sign_md5($data, $o{secret});
}

# base64(md5hex(md5hex(password + user_id) + caller) + "_date=" + create_date)
sub user_token {
    my ($password, $uid, $caller, $create_date) = @_;
    my $digest = md5_hex(md5_hex(encode_utf8($password . $uid)) . $caller);
    return encode_base64($digest . '_date=' . $create_date, '');
}

1;
