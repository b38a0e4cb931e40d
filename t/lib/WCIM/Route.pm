package WCIM::Route;
# RongCloud's message routing posts, signed as RongCloud signs them
# (signature = SHA1(app secret + nonce + signTimestamp)), for the tests of
# the weclubs-im-callback handler.
use strict;
use warnings;

use Encode qw(encode_utf8);
use Digest::SHA qw(sha1_hex);
use HTTP::Request ();
use Time::HiRes ();
use Exporter 'import';

use WCIM::JSON ();
use WCIM::Request ();

our @EXPORT_OK = qw(form_escape now_ms text route_request route);

our $SECRET = 'testappsecret';     # the test server's App Secret
my $seq = 0;

sub now_ms { int(Time::HiRes::time() * 1000) }

# application/x-www-form-urlencoded, of UTF-8 text
sub form_escape {
    my $s = encode_utf8(shift);
    $s =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# the content of a text message
sub text { WCIM::JSON::encode(WCIM::JSON::obj(content => $_[0])) }

# route_request(%o) -> HTTP::Request. o: fields (hash: the form, sorted),
# pairs (array of [name, value], after the fields, in order), vhost
# (default wcim_messages), nonce (default a fresh one), ts (the signature's
# time, as sent; default now in ms), sig (instead of the right signature),
# headers (1: the RC-* headers SealTalk reads instead of the query).
sub route_request {
    my (%o) = @_;
    my $nonce = $o{nonce} // "n$$-" . ++$seq;
    my $ts = $o{ts} // now_ms();
    my $sig = $o{sig} // sha1_hex($SECRET . $nonce . $ts);
    my %f = %{ $o{fields} || {} };
    my $body = join '&', (map { "$_=" . form_escape($f{$_}) } sort keys %f),
                         map { "$_->[0]=" . form_escape($_->[1]) } @{ $o{pairs} || [] };
    my $query = $o{headers} ? '' : "?nonce=$nonce&signTimestamp=$ts&signature=$sig";
    my $req = HTTP::Request->new(POST => WCIM::Request::url("/im/rongcloud$query",
                                                            $o{vhost} || 'wcim_messages'));
    $req->header('Content-Type' => 'application/x-www-form-urlencoded');
    $req->header('RC-Nonce' => $nonce, 'RC-Timestamp' => $ts, 'RC-Signature' => $sig)
        if $o{headers};
    $req->content($body);
    return $req;
}

# route(%o) -> HTTP::Response of route_request(%o)
sub route { WCIM::Request::ua()->request(route_request(@_)) }

1;
