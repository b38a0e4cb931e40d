# HTTP-level answers (protocol.md section 1): 405 for other methods, 404 for
# unknown endpoints (checked before the method), 413 for bodies over
# WeclubsIMMaxBody (from Content-Length, and while reading a chunked body),
# each with the JSON envelope and its Content-Type.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes ();
use Apache::Test ();
use WCIM::Request qw(envelope post raw_http sized_envelope check_answer
                     SEED_LIST);

my $list = 'get_group_chat_list';

# positive control: the same request as POST works
check_answer(post($list, envelope()), 'POST works', code => 2000, data => SEED_LIST);

# --- 405 ---------------------------------------------------------------
check_answer(post('get_token', undef, method => 'GET', content_type => undef),
             'GET /im/get_token', status => 405, code => 3100, allow => 'POST');
check_answer(post($list, undef, method => 'GET', content_type => undef),
             'GET /im/get_group_chat_list', status => 405, code => 3100, allow => 'POST');
check_answer(post('get_token', envelope(), method => 'PUT'),
             'PUT /im/get_token with a valid envelope',
             status => 405, code => 3100, allow => 'POST');
check_answer(post($list, envelope(), method => 'DELETE'),
             'DELETE /im/get_group_chat_list', status => 405, code => 3100, allow => 'POST');

# --- 404 (before the method check) --------------------------------------
check_answer(post('nope', envelope()), 'POST /im/nope', status => 404, code => 3101);
check_answer(post('nope', undef, method => 'GET', content_type => undef),
             'GET /im/nope: 404, not 405', status => 404, code => 3101);
check_answer(post('nope', undef, method => 'PUT'),
             'PUT /im/nope: 404, not 405', status => 404, code => 3101);
check_answer(post('', envelope(), path => '/im/'), 'POST /im/', status => 404, code => 3101);

# --- 413 from Content-Length ---------------------------------------------
check_answer(post($list, sized_envelope(1024), vhost => 'wcim_smallbody'),
             'MaxBody 1024: a 1024-byte body is accepted', code => 2000, data => SEED_LIST);
check_answer(post($list, sized_envelope(1025), vhost => 'wcim_smallbody'),
             'MaxBody 1024: a 1025-byte body', status => 413, code => 3001);
check_answer(post('get_token', sized_envelope(1025), vhost => 'wcim_smallbody'),
             'MaxBody 1024: get_token, 1025 bytes', status => 413, code => 3001);
check_answer(post($list, sized_envelope(65536)),
             'default MaxBody 65536: 65536 bytes accepted', code => 2000, data => SEED_LIST);
check_answer(post($list, sized_envelope(65537)),
             'default MaxBody 65536: 65537 bytes', status => 413, code => 3001);

{
    # Content-Length over the limit and no body at all: the answer must come
    # without the server waiting for the body.
    my $t0 = Time::HiRes::time();
    my $res = raw_http(undef, sub {
        my ($s, $host) = @_;
        print $s "POST /im/$list HTTP/1.1\r\nHost: $host\r\n"
               . "Content-Type: application/json\r\nContent-Length: 70000\r\n\r\n";
    }, 5);
    my $elapsed = Time::HiRes::time() - $t0;
    check_answer($res, 'Content-Length 70000, body never sent', status => 413, code => 3001);
    cmp_ok($elapsed, '<', 3, '... answered from the header, without reading the body');
}

# --- chunked bodies ----------------------------------------------------------
sub chunked {
    my ($vhost, $endpoint, $body, $chunk) = @_;
    return raw_http($vhost, sub {
        my ($s, $host) = @_;
        print $s "POST /im/$endpoint HTTP/1.1\r\nHost: $host\r\n"
               . "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
               . "Connection: close\r\n\r\n";
        for (my $i = 0; $i < length $body; $i += $chunk) {
            my $part = substr($body, $i, $chunk);
            printf $s "%x\r\n%s\r\n", length $part, $part;
        }
        print $s "0\r\n\r\n";
    }, 10);
}

check_answer(chunked('wcim_smallbody', $list, sized_envelope(1000), 300),
             'chunked, 1000 bytes under MaxBody 1024', code => 2000, data => SEED_LIST);
check_answer(chunked('wcim_smallbody', $list, sized_envelope(1500), 300),
             'chunked, 1500 bytes over MaxBody 1024', status => 413, code => 3001);
check_answer(chunked('wcim_smallbody', 'get_token', sized_envelope(1025), 1025),
             'chunked get_token, one 1025-byte chunk', status => 413, code => 3001);
check_answer(chunked(undef, $list, sized_envelope(70000), 8192),
             'chunked, 70000 bytes over the default 65536', status => 413, code => 3001);
check_answer(chunked(undef, $list, envelope(), 7),
             'chunked in 7-byte pieces (splitting UTF-8 and tokens)', code => 2000,
             data => SEED_LIST);

done_testing();
