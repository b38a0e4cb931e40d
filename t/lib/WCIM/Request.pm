package WCIM::Request;
# Building signed envelopes, posting them to the test server, and checking
# the answer's wire format (protocol.md sections 1, 2 and 5).
use strict;
use warnings;
use utf8;

use Encode qw(encode_utf8 decode_utf8);
use Time::HiRes ();
use JSON::PP ();
use LWP::UserAgent ();
use HTTP::Request ();
use Test::More;
use Apache::Test ();
use Apache::TestRequest ();
use Exporter 'import';
use IO::Socket::INET ();
use Socket qw(IPPROTO_TCP TCP_NODELAY);

use WCIM::JSON qw(obj encode);
use WCIM::Sign qw(sign);
use WCIM::DB ();

# test names contain Chinese
binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

our @EXPORT_OK = qw(SEED_TOKEN FAIL_MSG %MSG envelope data_for post im raw_http
                    sized_envelope list_data SEED_LIST
                    check_answer expected_body);

# User 38's chrome_test token from the seed document (demo data).
use constant SEED_TOKEN =>
    'NmQ1NTY2MjY2MTUxZDM4ZjE0YTM5ZWJhYmE5NTIwMDRfZGF0ZT0xNDkxODk4NzM5MDk4';

# get_token's message when RongCloud fails (the old server's text)
use constant FAIL_MSG => "获取token失败，请检查后重试";

our %MSG = (
    2000 => '请求成功',
    3000 => '请求失败',
    3001 => '参数违法',
    3003 => '签名违法',
    3004 => 'caller值违法',
    3005 => '没有携带user_id',
    3006 => '没有携带token',
    3010 => 'token失效',
    3014 => '找不到该用户',
    3100 => '违法的请求方法',
    3101 => '不存在该请求方法',
    5000 => '程序出错',
);

# The data pairs of a normal call for a user: user_id (as a string unless
# told otherwise) and that user's stored token for the caller.
sub data_for {
    my ($uid, %o) = @_;
    my $caller = $o{caller} || 'chrome_test';
    my $token = exists $o{token} ? $o{token}
              : $uid == 38 && $caller eq 'chrome_test' ? SEED_TOKEN
              : WCIM::DB::token($uid, $caller);
    return [user_id => "$uid", token => $token];
}

# envelope(%o) -> UTF-8 bytes of a request body.
#   data      array ref of pairs (default: data_for(38))
#   caller    client.caller value (default chrome_test); no_caller => 1 omits
#   client    a complete replacement for the client member
#   sign      the sign value; default computed over data with form/secret
#   form      'md5' (default) or 'sha1'; secret: signing secret
#   no_sign, no_data, no_client: omit that member
#   id        the request id (default a fixed string)
sub envelope {
    my %o = @_;
    my $data = $o{data} || data_for(38);
    my $caller = exists $o{caller} ? $o{caller} : 'chrome_test';
    my $client = exists $o{client} ? $o{client} : obj(
        ($o{no_caller} ? () : (caller => $caller)),
        version => 'v2.1',
        date    => sprintf('%d', Time::HiRes::time() * 1000),
        ex      => obj(sc => '720,1280', dv => 'xiaomi_os', uid => '122fff',
                       sf => 'pp', os => 'android'),
    );
    my $sign = exists $o{sign} ? $o{sign}
             : sign($data, form => $o{form}, secret => $o{secret});
    my @top = (id => (defined $o{id} ? $o{id} : '1234567890'));
    push @top, client => $client unless $o{no_client};
    push @top, encrypt => 'md5';
    push @top, sign => $sign unless $o{no_sign};
    push @top, data => obj(@$data) unless $o{no_data};
    return encode_utf8(encode(obj(@top)));
}

# An envelope of exactly $size bytes (the id member is padded with x).
sub sized_envelope {
    my ($size, %o) = @_;
    my $base = length envelope(%o, id => '');
    die "envelope longer than $size bytes\n" if $base > $size;
    my $body = envelope(%o, id => 'x' x ($size - $base));
    die "sized_envelope: got " . length($body) . "\n" unless length $body == $size;
    return $body;
}

my $ua;
sub ua {
    $ua ||= LWP::UserAgent->new(timeout => 30, keep_alive => 0,
                                agent => 'wcim-tests');
}

sub url {
    my ($path, $vhost) = @_;
    Apache::TestRequest::module($vhost || 'default');
    return Apache::TestRequest::resolve_url($path);
}

# post($endpoint, $bytes, %o): send a request. o: vhost, method (POST),
# path (instead of /im/$endpoint), content_type.
sub post {
    my ($endpoint, $body, %o) = @_;
    my $path = $o{path} || "/im/$endpoint";
    my $req = HTTP::Request->new(($o{method} || 'POST') => url($path, $o{vhost}));
    $req->header('Content-Type' => exists $o{content_type}
                 ? $o{content_type} : 'application/json');
    if (defined $body) {
        $req->content($body);
        $req->header('Content-Length' => length $body);
    }
    return ua()->request($req);
}

# im($endpoint, %o): build an envelope from %o (see envelope; plus user =>
# uid for data_for) and post it (vhost => ...). Returns the response.
sub im {
    my ($endpoint, %o) = @_;
    $o{data} ||= data_for($o{user}, caller => $o{caller}) if defined $o{user};
    return post($endpoint, envelope(%o), vhost => $o{vhost});
}

# raw_http($vhost, sub { my $sock = shift; print ... }, $timeout):
# talk HTTP over a plain socket (for what LWP will not send: chunked bodies,
# a Content-Length with no body). Returns an HTTP::Response (code 599 with
# the reason in the message when no complete answer came in time).
sub raw_http {
    my ($vhost, $writer, $timeout) = @_;
    require IO::Socket::INET;
    require IO::Select;
    require HTTP::Response;
    Apache::TestRequest::module($vhost || 'default');
    my ($host, $port) = split /:/, Apache::TestRequest::hostport();
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                     Proto => 'tcp', Timeout => 5)
        or return HTTP::Response->new(599, "connect: $!");
    binmode $sock;
    local $SIG{PIPE} = 'IGNORE';
    $writer->($sock, "$host:$port");
    my $buf = '';
    my $sel = IO::Select->new($sock);
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        my $left = $deadline - Time::HiRes::time();
        last if $left <= 0;
        last unless $sel->can_read($left);
        my $n = sysread $sock, $buf, 65536, length $buf;
        last unless $n;     # EOF or error
    }
    close $sock;
    return HTTP::Response->new(599, 'no answer in time') unless length $buf;
    my $res = HTTP::Response->parse($buf);
    if (($res->header('Transfer-Encoding') || '') =~ /chunked/i) {
        my $in = $res->content;
        my $out = '';
        while ($in =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $n = hex $1;
            last unless $n;
            $out .= substr($in, 0, $n, '');
            $in =~ s/\A\r\n//;
        }
        $res->content($out);
    }
    return $res;
}

# The data member of a get_group_chat_list answer listing these clubs, each
# [club_id, club_name, avatar_url or undef], as the exact JSON text the
# server must send (protocol.md section 7, key order of the seed example).
sub list_data {
    my @items = @_;
    return '{"group_chat_list":null}' unless @items;
    my @json = map {
        my ($id, $name, $avatar) = @$_;
        '{"im_group_id":"im_club_id_' . $id . '","avatar_url":'
            . (defined $avatar ? WCIM::JSON::string($avatar) : 'null')
            . ',"last_msg_content":null,"club_id":' . $id
            . ',"fresh_msg_count":0,"club_name":' . WCIM::JSON::string($name)
            . ',"last_msg_date":0}'
    } @items;
    return '{"group_chat_list":[' . join(',', @json) . ']}';
}

# User 38's list: the seed document's example, byte for byte.
use constant SEED_LIST =>
    '{"group_chat_list":[{"im_group_id":"im_club_id_1","avatar_url":"http://p2.wmpic.me/article/2015/03/16/1426483393_DXGAJIiR.jpeg","last_msg_content":null,"club_id":1,"fresh_msg_count":0,"club_name":"社团联合会","last_msg_date":0}]}';

# The body the server must send, with the sys_time digits as given.
sub expected_body {
    my ($code, $data_json, $msg) = @_;
    $msg = $MSG{$code} unless defined $msg;
    return '{"result_code":' . $code . ',"result_msg":"' . $msg
         . '","sys_time":SYS_TIME,"data":' . $data_json . '}';
}

# Replace the sys_time value by the word SYS_TIME.
sub normalise {
    my $body = shift;
    $body =~ s/("sys_time":)\d+/${1}SYS_TIME/;
    return $body;
}

# check_answer($res, $name, %exp): a subtest on one answer.
#   status (default 200), code, msg (default: the code's message),
#   data => JSON text the data member must be exactly (default: null for
#   any code but 2000), allow => value of the Allow header.
# Returns the decoded answer (a hash ref) or undef.
sub check_answer {
    my ($res, $name, %exp) = @_;
    my $status = $exp{status} || 200;
    my $code = $exp{code};
    my $msg = defined $exp{msg} ? $exp{msg} : $MSG{$code};
    my $answer;
    subtest $name => sub {
        is($res->code, $status, "HTTP status $status")
            or diag($res->status_line . "\n" . substr($res->decoded_content || '', 0, 300));
        is($res->header('Content-Type'), 'application/json;charset=UTF-8',
           'Content-Type');
        if (exists $exp{allow}) {
            is($res->header('Allow'), $exp{allow}, "Allow header");
        }
        my $bytes = $res->content;
        my $text = eval { decode_utf8($bytes, Encode::FB_CROAK | Encode::LEAVE_SRC) };
        ok(defined $text, 'body is UTF-8');
        $text = '' unless defined $text;
        like($text,
             qr/\A\{"result_code":-?\d+,"result_msg":"(?:[^"\\]|\\.)*","sys_time":\d+,"data":(?:null|\{.*\})\}\z/s,
             'compact envelope, keys in order');
        (my $outside = $text) =~ s/"(?:[^"\\]|\\.)*"//g;
        unlike($outside, qr/\s/, 'no whitespace outside strings');
        unlike($text, qr{\\u|\\/}, 'no \\u or \\/ escapes');
        $answer = WCIM::JSON::decode($bytes);
        ok(ref $answer eq 'HASH', 'body is a JSON object') or return;
        is($answer->{result_code}, $code, "result_code $code");
        is($answer->{result_msg}, $msg, "result_msg $msg");
        my $now = Time::HiRes::time() * 1000;
        ok(defined $answer->{sys_time}
           && abs($answer->{sys_time} - $now) < 10_000,
           'sys_time is the server time in ms')
            or diag("sys_time $answer->{sys_time}, now $now");
        if (exists $exp{data}) {
            is(normalise($text), expected_body($code, $exp{data}, $msg),
               'whole body');
        }
        elsif ($code != 2000) {
            like($text, qr/,"data":null\}\z/, 'data is null');
        }
        else {
            like($text, qr/,"data":\{/, 'data is an object');
        }
    };
    return $answer;
}

# post_keepalive(\$conn, $host, $port, $path, $content_type, $body): one
# POST on a kept-alive socket: the request leaves in one write, with
# TCP_NODELAY (HTTP::Tiny sends headers and body apart, and Nagle with the
# server's delayed ACK then costs 40 ms a request). Returns (status, body).
sub post_keepalive {
    my ($conn, $host, $port, $path, $ctype, $body) = @_;
    for my $try (1, 2) {
        if (!$$conn) {
            $$conn = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                           Proto => 'tcp', Timeout => 30)
                or die "connect $host:$port: $!";
            setsockopt($$conn, IPPROTO_TCP, TCP_NODELAY, 1);
        }
        my $s = $$conn;
        my $req = "POST $path HTTP/1.1\r\nHost: $host:$port\r\n"
                . "Content-Type: $ctype\r\nContent-Length: " . length($body)
                . "\r\n\r\n$body";
        my ($head, $status, $len, $line) = ('', 0, 0);
        if (print $s $req) {
            while (defined($line = <$s>)) {
                last if $line eq "\r\n";
                $head .= $line;
            }
        }
        if ($head =~ m{\AHTTP/1\.\d (\d+)}) {
            $status = $1;
            $len = $head =~ /^Content-Length:\s*(\d+)/mi ? $1 : 0;
            my $got = '';
            read($s, $got, $len - length $got, length $got) or last
                while length $got < $len;
            if ($head =~ /^Connection:\s*close/mi) {
                close $s;
                $$conn = undef;
            }
            return ($status, $got);
        }
        close $s;                # the server closed a kept-alive connection
        $$conn = undef;
    }
    return (0, '');
}

# list_code(\$conn, $uid, $token): a signed get_group_chat_list of user
# $uid on the kept-alive socket $conn (to the test server); its
# result_code, or "HTTP <status>" when the answer is not an envelope.
sub list_code {
    my ($conn, $uid, $token) = @_;
    my ($host, $port) = url('/') =~ m{//([^:/]+):(\d+)};
    my $body = envelope(data => [user_id => "$uid", token => $token]);
    my ($st, $content) = post_keepalive($conn, $host, $port,
        '/im/get_group_chat_list', 'application/json', $body);
    my $a = $st == 200 ? eval { JSON::PP->new->utf8->decode($content) } : undef;
    return $a ? $a->{result_code} : "HTTP $st";
}

1;
