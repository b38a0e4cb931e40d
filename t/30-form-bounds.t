# What a message routing post may cost (issue 23, item 1): the signature
# covers no byte of the body, so whoever holds one signed query can post any
# body under it. A 6 MiB chunked post of empty fields (`=&=&...`), and one
# announced by Content-Length under the limit but made of nothing but
# separators, are refused with 413 and logged, and the child's peak memory
# (VmHWM) grows by less than 64 MB; a post just under
# WeclubsIMCallbackMaxBody (2 MiB) is still stored. And the callback's
# appKey (item 10): a wrong one is refused, ours or none is stored. And an
# API request's buffer grows as its body comes (item 9): connections that
# announce 16 MB and stall do not take 16 MB each.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Digest::SHA qw(sha1_hex);
use Apache::Test ();
use WCIM::Request ();
use WCIM::DB ();
use WCIM::Setup ();
use WCIM::Route qw(now_ms text route_request);

my $SECRET = $WCIM::Route::SECRET;
my $LOG = Apache::Test::vars('t_logs') . '/error_log';
my $MAX = 2 * 1024 * 1024;       # WeclubsIMCallbackMaxBody's default

# the httpd children's pids (the parent's in t/logs/httpd.pid)
sub children {
    my $ppid = WCIM::Setup::slurp(Apache::Test::vars('t_logs') . '/httpd.pid');
    $ppid =~ s/\s+//g;
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($pid, $parent) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @pids, $pid if $parent == $ppid;
    }
    return @pids;
}

# the largest VmHWM (peak resident set, kB; or another line of
# /proc/<pid>/status) of the children
sub peak_kb {
    my ($what) = @_;
    $what ||= 'VmHWM';
    my $max = 0;
    for my $pid (children()) {
        open my $fh, '<', "/proc/$pid/status" or next;
        while (<$fh>) {
            $max = $1 if /^$what:\s+(\d+)/ && $1 > $max;
        }
    }
    return $max;
}

my $seq = 0;
sub fields {
    ++$seq;
    return (fromUserId => 'im_user_id_241', toUserId => 'im_club_id_9030',
            objectName => 'RC:TxtMsg', channelType => 'GROUP',
            content => text('hi'), msgTimestamp => now_ms(),
            msgUID => "B$$-$seq");
}

sub stored {
    my ($uid) = @_;
    return WCIM::DB::sql('SELECT COUNT(*) FROM t_im_message WHERE msg_uid = '
                         . WCIM::DB::quote($uid))->[0][0];
}

# A signed post whose body is written by hand: chunked (chunks of 64 KiB)
# or with a Content-Length. -> HTTP::Response
sub raw_post {
    my ($body, %o) = @_;
    my $nonce = "f$$-" . ++$seq;
    my $ts = now_ms();
    my $sig = sha1_hex($SECRET . $nonce . $ts);
    return WCIM::Request::raw_http('wcim_messages', sub {
        my ($sock, $host) = @_;
        my $head = "POST /im/rongcloud?nonce=$nonce&signTimestamp=$ts&signature=$sig HTTP/1.1\r\n"
                 . "Host: $host\r\nConnection: close\r\n"
                 . "Content-Type: application/x-www-form-urlencoded\r\n";
        if ($o{chunked}) {
            print $sock $head, "Transfer-Encoding: chunked\r\n\r\n";
            for (my $at = 0; $at < length $body; $at += 65536) {
                my $part = substr $body, $at, 65536;
                print $sock sprintf('%x', length $part), "\r\n", $part, "\r\n"
                    or last;    # the server may have answered and closed
            }
            print $sock "0\r\n\r\n";
        }
        else {
            print $sock $head, 'Content-Length: ', length($body), "\r\n\r\n", $body;
        }
    }, 60);
}

my $before = peak_kb();
cmp_ok($before, '>', 0, "the children's VmHWM can be read ($before kB)");

# --- 1. with Content-Length: under the limit, all separators ---------------
{
    my $log_at = -s $LOG;
    my $before2 = peak_kb();
    my $res = raw_post('=&' x (1024 * 1024 - 8));
    is($res->code, 413, 'a signed 2 MiB post of =&=&... with Content-Length: 413');
    my $after = peak_kb();
    cmp_ok($after - $before2, '<', 64 * 1024,
           "the child's peak memory grew by less than 64 MB ($before2 -> $after kB)");
    my $log = substr WCIM::Setup::slurp($LOG), $log_at;
    like($log, qr/WCIM0254: message routing post refused: more than \d+ fields/,
         'and the log says why');
}

# --- 2. a 6 MiB chunked post of empty fields -------------------------------
{
    my $log_at = -s $LOG;
    my $before = peak_kb();
    my $res = raw_post('=&' x (3 * 1024 * 1024), chunked => 1);
    is($res->code, 413, 'a signed 6 MiB chunked post of =&=&...: 413');
    my $after = peak_kb();
    cmp_ok($after - $before, '<', 64 * 1024,
           "the child's peak memory grew by less than 64 MB ($before -> $after kB)");
    my $log = substr WCIM::Setup::slurp($LOG), $log_at;
    like($log, qr/WCIM0253: message routing post refused: more than 2097152 bytes/,
         'and the log says why');
}

# --- 3. a post just under the limit is still stored --------------------------
{
    my %f = fields();
    my $body = join '&', map { "$_=" . WCIM::Route::form_escape($f{$_}) } sort keys %f;
    # padded with an unused field up to the limit
    $body .= '&pad=' . ('x' x ($MAX - length($body) - 5));
    is(length $body, $MAX, 'the post is exactly WeclubsIMCallbackMaxBody bytes');
    my $res = raw_post($body, chunked => 1);
    is($res->code, 200, 'a chunked post of exactly the limit: 200');
    is(stored($f{msgUID}), 1, 'and it is stored');
    %f = fields();
    $body = join '&', map { "$_=" . WCIM::Route::form_escape($f{$_}) } sort keys %f;
    $body .= '&pad=' . ('x' x ($MAX - length($body) - 4));
    $res = raw_post($body, chunked => 1);
    is($res->code, 413, 'one byte more, chunked: 413');
    is(stored($f{msgUID}), 0, 'and it is not stored');
}

# --- 4. appKey (item 10): another app's is refused; ours, or none, stored ----
{
    my $post = sub {
        my ($key) = @_;
        my %f = fields();
        my $req = route_request(fields => \%f);
        $req->uri($req->uri . '&appKey=' . $key) if defined $key;
        return (WCIM::Request::ua()->request($req), $f{msgUID});
    };
    my $log_at = -s $LOG;
    my ($res, $uid) = $post->('otherappkey');
    is($res->code, 401, 'a signed post with another appKey: 401');
    is(stored($uid), 0, 'and it is not stored');
    like(substr(WCIM::Setup::slurp($LOG), $log_at),
         qr/WCIM0255: message routing post refused: its appKey is not WeclubsIMRongCloudAppKey/,
         'and the log says why');
    ($res, $uid) = $post->('testappkey');
    is($res->code, 200, 'with our appKey: 200');
    is(stored($uid), 1, 'and it is stored');
    ($res, $uid) = $post->(undef);
    is($res->code, 200, 'with no appKey: 200');
    is(stored($uid), 1, 'and it is stored');
}

# --- 5. API bodies: announced 16 MB, stalled -------------------------------
{
    require IO::Socket::INET;
    Apache::TestRequest::module('wcim_bigbody');
    my ($host, $port) = split /:/, Apache::TestRequest::hostport();
    my $count = 16;
    my $announced = 16_000_000;
    my $vm_before = peak_kb('VmData');
    my @socks;
    for (1 .. $count) {
        my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                         Proto => 'tcp', Timeout => 5) or last;
        print $sock "POST /im/get_token HTTP/1.1\r\nHost: $host:$port\r\n"
                  . "Content-Type: application/json\r\n"
                  . "Content-Length: $announced\r\n\r\n{\"id\":";
        push @socks, $sock;
    }
    is(scalar @socks, $count, "$count connections announce $announced bytes and stall");
    sleep 2;    # every one is being read
    my $vm_after = peak_kb('VmData');
    my $grown = $vm_after - $vm_before;
    cmp_ok($grown, '<', $count * $announced / 1024 / 4,
           "the child's data grew by far less than $count x $announced bytes "
           . "($vm_before -> $vm_after kB)");
    close $_ for @socks;
    # a normal body on the same server still works
    my $res = WCIM::Request::im('get_group_chat_list', vhost => 'wcim_bigbody');
    like($res->content, qr/"result_code":2000/, 'a normal list call on that server: 2000')
        or diag($res->status_line . ' ' . $res->content);
}

done_testing();
