# The status handler: counters in Prometheus' text format (and a plain page
# with ?text) move with the requests the server answers.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Apache::Test ();
use HTTP::Request ();
use WCIM::Request qw(im post envelope SEED_TOKEN);
use WCIM::StandIn ();

sub status {
    my ($query) = @_;
    my $req = HTTP::Request->new(GET => WCIM::Request::url('/im-status' . ($query // '')));
    return WCIM::Request::ua()->request($req);
}

sub metrics {
    my $res = status();
    my %m;
    for (split /\n/, $res->content) {
        next if /^#/;
        $m{$1} = $2 if /^(\S+) (\S+)$/;
    }
    return \%m;
}

my $res = status();
is($res->code, 200, 'status: 200');
like($res->header('Content-Type'), qr{^text/plain; version=0\.0\.4}, 'Prometheus content type');
like($res->content, qr/^# TYPE weclubs_im_requests_total counter$/m, 'TYPE lines');
like($res->content, qr/^weclubs_im_rongcloud_host_in_use\{url="http:\/\/127\.0\.0\.1:\d+"\} 1$/m,
     'the RongCloud host in use');

my $before = metrics();
my $ok = 'weclubs_im_requests_total{endpoint="get_group_chat_list",result_code="2000"}';
my $bad = 'weclubs_im_requests_total{endpoint="get_group_chat_list",result_code="3003"}';
my $unknown = 'weclubs_im_requests_total{endpoint="unknown",result_code="3101"}';
my $gt = 'weclubs_im_rongcloud_calls_total{call="getToken",outcome="ok"}';
my $gt_count = 'weclubs_im_rongcloud_seconds_count{call="getToken"}';
my $hits = 'weclubs_im_cache_requests_total{kind="token",result="hit"}';

im('get_group_chat_list', user => 38) for 1 .. 3;
im('get_group_chat_list', user => 38, sign => '0' x 32);
post('nope', '{}');
im('get_token', user => 38);       # a call or a cache hit
im('get_token', user => 38);       # a cache hit now

my $after = metrics();
is($after->{$ok} - $before->{$ok}, 3, 'three lists answered 2000');
is($after->{$bad} - $before->{$bad}, 1, 'one refused signature (3003)');
is($after->{$unknown} - $before->{$unknown}, 1, 'one unknown endpoint (3101)');
cmp_ok($after->{$hits} - $before->{$hits}, '>=', 1, 'cache hits counted');
is($after->{$gt_count} - $before->{$gt_count},
   $after->{$gt} - $before->{$gt}
   + ($after->{'weclubs_im_rongcloud_calls_total{call="getToken",outcome="error"}'} // 0)
   - ($before->{'weclubs_im_rongcloud_calls_total{call="getToken",outcome="error"}'} // 0),
   'the latency histogram counts every getToken');

my $text = status('?text');
is($text->code, 200, '?text: 200');
like($text->content, qr/^mod_weclubs_im status/, '?text: a plain page');
like($text->content, qr/get_group_chat_list\s+2000\s+\d+/, '?text: requests by endpoint and code');
# ?text is a key of the query, not any query with "text" in it
like(status('?a=1&text')->content, qr/^mod_weclubs_im status/, '?a=1&text: the plain page');
like(status('?text=1')->content, qr/^mod_weclubs_im status/, '?text=1: the plain page');
for my $q ('?context=1', '?plaintext', '?x=text') {
    like(status($q)->content, qr/^# HELP /, "$q: Prometheus' format, not the plain page");
}

# the module's totals in httpd's own /server-status (mod_status)
{
    my $auto = WCIM::Request::ua()->get(WCIM::Request::url('/server-status?auto'));
    is($auto->code, 200, '/server-status?auto: 200');
    like($auto->content, qr/^WeclubsIMRequests: [1-9]\d*$/m, '?auto: WeclubsIMRequests, counted');
    like($auto->content, qr/^WeclubsIMCacheHits: \d+$/m, '?auto: WeclubsIMCacheHits');
    like($auto->content, qr/^WeclubsIMRongCloudCalls: \d+$/m, '?auto: WeclubsIMRongCloudCalls');
    my $html = WCIM::Request::ua()->get(WCIM::Request::url('/server-status'));
    like($html->content, qr{<h2>mod_weclubs_im</h2>\n<pre>mod_weclubs_im status}, 'the HTML page has our section');
}

done_testing();
