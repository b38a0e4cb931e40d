#!/usr/bin/perl
# Two Apache nodes, one PostgreSQL, one redis, one RongCloud stand-in
# (docs/cluster.md): a token fetched through node A is served
# by node B with no second RongCloud call; with redis killed mid-run both
# nodes keep answering correctly, and use redis again once it is back.
#
# Run by t/run-suite.sh when WCIM_CLUSTER=1, from the top of a built tree,
# as a user other than root: WCIM_TWO_NODES=1 prove t/cluster/two-nodes.t
# (it starts its own servers: within an Apache::Test run it is skipped)
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Test::More;
plan skip_all => 'runs apart (WCIM_TWO_NODES=1, t/run-suite.sh with WCIM_CLUSTER=1)'
    unless $ENV{WCIM_TWO_NODES};
use Time::HiRes ();
use WCIM::Cluster ();
use WCIM::Sign ();
use WCIM::Request ();

my $seed_token = 'NmQ1NTY2MjY2MTUxZDM4ZjE0YTM5ZWJhYmE5NTIwMDRfZGF0ZT0xNDkxODk4NzM5MDk4';
my $cl = WCIM::Cluster->new;
my ($dir, $top, $http, $json) = ($cl->dir, $cl->top, $cl->http, $cl->json);
my $rc_port = $cl->rc_port;
my @psql = ('psql', '-X', '-q', '-h', "$dir/pg", '-p', $cl->{pg_port}, '-U', 'postgres',
            '-v', 'ON_ERROR_STOP=1');
sub run { WCIM::Cluster::run(@_) }
ok($rc_port, 'RongCloud stand-in up');

# --- two nodes --------------------------------------------------------------
my $A = $cl->start_node('a');
my $a_port = $cl->{port}{a};
my $sent_to_a = 0;
# node B connects as a role of its own, so that its database connection
# alone can be broken (issue 15's balancer case, at the end)
run(@psql, '-d', 'postgres', '-c', 'CREATE ROLE node_b LOGIN SUPERUSER');
my $B = $cl->start_node('b', db_user => 'node_b');
my $b_port = $cl->{port}{b};

sub call {
    my ($base, $endpoint, $uid, $token) = @_;
    $sent_to_a++ if $base eq $A;
    my $data = [user_id => "$uid", token => $token];
    my $body = '{"id":"cluster","client":{"caller":"chrome_test"},"encrypt":"md5",'
             . '"sign":"' . WCIM::Sign::sign($data) . '","data":{"user_id":"' . $uid
             . '","token":"' . $token . '"}}';
    my $res = $http->post("$base/im/$endpoint",
                          { content => $body,
                            headers => { 'Content-Type' => 'application/json' } });
    my $answer = eval { $json->decode($res->{content}) } || {};
    return ($res->{status}, $answer);
}

sub rc_calls {
    my $res = $http->get("http://127.0.0.1:$rc_port/_control/count?path=/user/getToken.json");
    return $json->decode($res->{content})->{count};
}

# --- a token fetched through A is served by B ---------------------------------
my ($st, $a) = call($A, 'get_token', 38, $seed_token);
is($a->{result_code}, 2000, 'node A: get_token answers 2000');
my $token = ($a->{data} || {})->{im_token};
like($token // '', qr/^tok-im_user_id_38-/, 'node A: token from RongCloud');
is(rc_calls(), 1, 'one getToken call so far');
my ($st2, $b) = call($B, 'get_token', 38, $seed_token);
is($b->{result_code}, 2000, 'node B: get_token answers 2000');
is(($b->{data} || {})->{im_token}, $token, 'node B: the same token');
is(rc_calls(), 1, 'node B asked RongCloud nothing: the token came from redis');

# --- redis killed mid-run -------------------------------------------------------
$cl->stop_redis;
Time::HiRes::sleep(0.5);
my ($good, $total) = (0, 0);
for my $i (1 .. 20) {
    my $node = $i % 2 ? $A : $B;
    my ($s, $list) = call($node, 'get_group_chat_list', 38, $seed_token);
    my ($s2, $tok) = call($node, 'get_token', 38, $seed_token);
    $total += 2;
    $good++ if $s == 200 && $list->{result_code} == 2000
            && $list->{data}{group_chat_list}[0]{club_id} == 1;
    $good++ if $s2 == 200 && $tok->{result_code} == 2000
            && ($tok->{data}{im_token} // '') =~ /^tok-im_user_id_38-/;
}
is($good, $total, "redis down: all $total answers of both nodes correct");
{
    my $h = $http->get("$A/im-health");
    my $a = eval { $json->decode($h->{content}) } || {};
    is($h->{status}, 503, 'redis down: the health check says 503');
    is($a->{cache}, 'the cache does not answer', 'redis down: the reason names the cache');
}

# --- redis back -------------------------------------------------------------------
# apr_redis tries a server it marked dead again 5 s later, in every child
# process of both nodes: wait for that, then expect the cache to be shared
# again.
$cl->start_redis;
Time::HiRes::sleep(6);
# every child of both nodes uses redis again: their health checks, on fresh
# connections (so on any child), all say 200 (a busy machine may need longer
# than apr_redis' 5 s)
my $healthy = 0;
{
    my $deadline = Time::HiRes::time() + 40;
    while ($healthy < 20 && Time::HiRes::time() < $deadline) {
        my $once = HTTP::Tiny->new(timeout => 5, keep_alive => 0);
        my $ok = $once->get("$A/im-health")->{status} == 200
                 && $once->get("$B/im-health")->{status} == 200;
        $healthy = $ok ? $healthy + 1 : 0;
        Time::HiRes::sleep($ok ? 0.05 : 0.5);
    }
}
is($healthy, 20, 'redis back: both nodes\' health checks say 200, 20 times in a row');
my ($s3, $c) = call($A, 'get_token', 1,
                    'MTg4NDY4ZjQ1YzUxYmVhMGZlOWFlNDg1MTZmOWE0NDJfZGF0ZT0xNDkyNDEzMjUyMjk5');
is($c->{result_code}, 2000, 'redis back: node A fetches a token for user 1');
my $before = rc_calls();
my ($s4, $d) = call($B, 'get_token', 1,
                    'MTg4NDY4ZjQ1YzUxYmVhMGZlOWFlNDg1MTZmOWE0NDJfZGF0ZT0xNDkyNDEzMjUyMjk5');
is(($d->{data} || {})->{im_token}, ($c->{data} || {})->{im_token},
   'redis back: node B serves the same token');
is(rc_calls(), $before, 'redis back: from redis again, no RongCloud call');

my $log = do { local $/; open my $fh, '<', "$dir/a/error_log"; <$fh> // '' }
        . do { local $/; open my $fh, '<', "$dir/b/error_log"; <$fh> // '' };
like($log, qr/WCIM0140: cache read failed, treated as a miss/,
     'the cache outage was logged');
unlike($log, qr/Segmentation fault|exit signal/, 'no node crashed');

# --- a campus through redis: one getToken per user -------------------------
# (issue 16) thousands of distinct users, each asking three times through
# alternating nodes: redis keeps every token, so RongCloud is asked once
# per user. WCIM_CLUSTER_USERS sets how many (default 2000).
{
    my $n = $ENV{WCIM_CLUSTER_USERS} || 2000;
    my $base = 800000;
    my $now = int(Time::HiRes::time() * 1000);
    my (%tok, @st, @tk);
    for my $i (0 .. $n - 1) {
        my $uid = $base + $i;
        $tok{$uid} = WCIM::Sign::user_token("pw$uid", $uid, 'chrome_test', $now);
        push @st, "($uid, '1390000$i', 'nick$uid', 'student $uid', 1)";
        push @tk, "($uid, '$tok{$uid}', 'chrome_test', $now)";
    }
    my @sql;
    while (@st) {
        push @sql, 'INSERT INTO t_student (student_id, mobile, nick_name, real_name, status) VALUES '
                 . join(',', splice(@st, 0, 500)) . ';';
        push @sql, 'INSERT INTO t_token (uid, token, caller, create_date) VALUES '
                 . join(',', splice(@tk, 0, 500)) . ';';
    }
    open my $sqlfh, '>', "$dir/scale.sql" or die $!;
    print $sqlfh "$_\n" for @sql;
    close $sqlfh;
    run(@psql, '-d', 'weclubs', '-f', "$dir/scale.sql");
    my $before = rc_calls();
    my %conn;
    my $bad = 0;
    for my $round (0 .. 2) {
        for my $i (0 .. $n - 1) {
            my $uid = $base + $i;
            my $port = ($i + $round) % 2 ? $a_port : $b_port;
            $sent_to_a++ if $port == $a_port;
            my $data = [user_id => "$uid", token => $tok{$uid}];
            my $body = '{"id":"cluster","client":{"caller":"chrome_test"},"encrypt":"md5",'
                     . '"sign":"' . WCIM::Sign::sign($data) . '","data":{"user_id":"' . $uid
                     . '","token":"' . $tok{$uid} . '"}}';
            my ($code, $content) = WCIM::Request::post_keepalive(
                \$conn{$port}, '127.0.0.1', $port, '/im/get_token', 'application/json', $body);
            my $answer = $code == 200 ? eval { $json->decode($content) } : undef;
            $bad++ unless $answer && $answer->{result_code} == 2000;
        }
    }
    is($bad, 0, "$n users x 3 get_token over both nodes: every answer 2000");
    is(rc_calls() - $before, $n, "$n getToken calls: one per user, the rest from redis");
}

# --- the status counters are one for all children of a node ----------------
my $status = $http->get("$A/im-status");
my $counted = 0;
$counted += $1 while $status->{content} =~ /^weclubs_im_requests_total\{[^}]*\} (\d+)$/mg;
is($counted, $sent_to_a, "node A's status counts all $sent_to_a requests, whichever child answered");
my $pid = do { open my $fh, '<', "$dir/a/httpd.pid"; <$fh> };
chomp $pid if defined $pid;
my @children = grep { /\d/ } split /\s+/, `ps -o pid= --ppid $pid`;
cmp_ok(scalar @children, '>=', 2, 'node A runs several children');

# --- Apache as the balancer (docs/cluster.md) ----------------
# A front httpd balances both nodes, mod_proxy_hcheck probing their
# weclubs-im-health; node B's database connection is broken: every request
# through the front is still answered 2000, by node A.
{
    my $f_port = WCIM::Cluster::free_port();
    my $root = "$dir/front";
    mkdir $root;
    open my $fh, '>', "$root/httpd.conf" or die $!;
    print $fh <<"EOC";
ServerRoot "$root"
ServerName 127.0.0.1
Listen 127.0.0.1:$f_port
PidFile "$root/httpd.pid"
DefaultRuntimeDir "$root"
ErrorLog "$root/error_log"
LogLevel warn
LoadModule mpm_event_module $cl->{mods}/mod_mpm_event.so
LoadModule authz_core_module $cl->{mods}/mod_authz_core.so
LoadModule proxy_module $cl->{mods}/mod_proxy.so
LoadModule proxy_http_module $cl->{mods}/mod_proxy_http.so
LoadModule proxy_balancer_module $cl->{mods}/mod_proxy_balancer.so
LoadModule proxy_hcheck_module $cl->{mods}/mod_proxy_hcheck.so
LoadModule slotmem_shm_module $cl->{mods}/mod_slotmem_shm.so
LoadModule lbmethod_byrequests_module $cl->{mods}/mod_lbmethod_byrequests.so
<IfModule !watchdog_module>
    LoadModule watchdog_module $cl->{mods}/mod_watchdog.so
</IfModule>
<Proxy "balancer://weclubs-im">
    BalancerMember http://127.0.0.1:$a_port hcmethod=GET hcuri=/im-health hcinterval=1 hcfails=1 hcpasses=1
    BalancerMember http://127.0.0.1:$b_port hcmethod=GET hcuri=/im-health hcinterval=1 hcfails=1 hcpasses=1
</Proxy>
ProxyPass        /im balancer://weclubs-im/im
ProxyPassReverse /im balancer://weclubs-im/im
EOC
    close $fh;
    my $F = $cl->start_httpd($root, $f_port);
    my $front_ok = sub {
        my ($n) = @_;
        my $good = 0;
        for (1 .. $n) {
            my ($s, $list) = call($F, 'get_group_chat_list', 38, $seed_token);
            $good++ if $s == 200 && ($list->{result_code} // 0) == 2000;
        }
        return $good;
    };
    is($front_ok->(10), 10, 'through the balancer: 10 lists, 2000 each');
    # node B's database connection broken: its role may no longer log in,
    # its sessions are ended
    run(@psql, '-d', 'postgres', '-c', 'ALTER ROLE node_b NOLOGIN');
    run(@psql, '-d', 'postgres', '-c',
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'node_b'");
    my $hb = $http->get("$B/im-health");
    is($hb->{status}, 503, "node B's database broken: its health check says 503");
    like($hb->{content}, qr/"status":"unavailable"/, 'with the reason') or diag($hb->{content});
    Time::HiRes::sleep(3);      # the balancer's next probes (every second)
    is($front_ok->(20), 20, 'node B down: 20 lists through the balancer, 2000 each');
    run(@psql, '-d', 'postgres', '-c', 'ALTER ROLE node_b LOGIN');
}

done_testing();
