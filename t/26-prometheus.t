# A real Prometheus (issue 15): `promtool check metrics` is clean on the
# status page; the alert rules of contrib/prometheus pass `promtool check
# rules` and their unit tests; Debian's prometheus, started on loopback and
# scraping this test server, returns the module's series with the values
# the status page shows after known traffic. Needs the prometheus package
# (scripts/install-deps.sh installs it); skipped without it, except in CI.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Temp ();
use File::Copy ();
use IO::Socket::INET ();
use JSON::PP ();
use LWP::UserAgent ();
use POSIX ();
use Time::HiRes ();
use Apache::Test ();
use WCIM::Request qw(im check_answer);

my ($promtool, $prometheus) = map { my $p = `command -v $_ 2>/dev/null`; chomp $p; $p }
                              qw(promtool prometheus);
if (!$promtool || !$prometheus) {
    plan skip_all => 'prometheus not installed' unless $ENV{CI};
}
my $top = Apache::Test::vars('top_dir');
my $dir = File::Temp::tempdir('wcim-prom.XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $ua = LWP::UserAgent->new(timeout => 10);
my $status_url = WCIM::Request::url('/im-status');

# --- the status page, linted --------------------------------------------------
{
    my $page = $ua->get($status_url)->content;
    open my $fh, '>', "$dir/metrics.txt" or die $!;
    print $fh $page;
    close $fh;
    my $out = `'$promtool' check metrics < '$dir/metrics.txt' 2>&1`;
    is($? >> 8, 0, 'promtool check metrics: clean') or diag($out);
    is($out, '', 'promtool check metrics: no lint message') or diag($out);
}

# --- the alert rules, checked and unit-tested ---------------------------------
{
    for my $f (qw(weclubs-im-rules.yml weclubs-im-rules.test.yml)) {
        File::Copy::copy("$top/contrib/prometheus/$f", "$dir/$f") or die "$f: $!";
    }
    my $out = `cd '$dir' && '$promtool' check rules weclubs-im-rules.yml 2>&1`;
    is($? >> 8, 0, 'promtool check rules: the rules are valid') or diag($out);
    $out = `cd '$dir' && '$promtool' test rules weclubs-im-rules.test.yml 2>&1`;
    is($? >> 8, 0, 'promtool test rules: every alert fires as its test says') or diag($out);
}

# --- Prometheus scraping this server ------------------------------------------
{
    my ($host, $port) = $status_url =~ m{//([^:/]+):(\d+)};
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1)
        or die "socket: $!";
    my $prom_port = $s->sockport;
    close $s;
    open my $fh, '>', "$dir/prometheus.yml" or die $!;
    print $fh <<"EOC";
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: weclubs-im
    metrics_path: /im-status
    static_configs:
      - targets: ['$host:$port']
EOC
    close $fh;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', "$dir/prometheus.log";
        open STDERR, '>&', \*STDOUT;
        exec($prometheus, "--config.file=$dir/prometheus.yml",
             "--storage.tsdb.path=$dir/data", "--web.listen-address=127.0.0.1:$prom_port")
            or POSIX::_exit(127);
    }
    # known traffic: three get_token answered 2000
    check_answer(im('get_token', user => 38), "get_token $_", code => 2000) for 1 .. 3;
    my ($want) = $ua->get($status_url)->content
        =~ /^weclubs_im_requests_total\{endpoint="get_token",result_code="2000"\} (\d+)$/m;
    my $json = JSON::PP->new;
    my $query = 'http://127.0.0.1:' . $prom_port . '/api/v1/query?query='
              . 'weclubs_im_requests_total%7Bendpoint%3D%22get_token%22%2Cresult_code%3D%222000%22%7D';
    my ($got, $deadline) = (undef, Time::HiRes::time() + 30);
    while (Time::HiRes::time() < $deadline) {
        my $r = $ua->get($query);
        if ($r->is_success) {
            my $a = eval { $json->decode($r->content) } || {};
            my $res = (($a->{data} || {})->{result} || [])->[0];
            $got = $res->{value}[1] if $res;
            last if defined $got && defined $want && $got >= $want;
        }
        Time::HiRes::sleep(0.5);
    }
    kill TERM => $pid;
    waitpid($pid, 0);
    ok(defined $want && $want >= 3, "the status page counts the get_token answers ($want)");
    is($got, $want, "Prometheus scraped weclubs_im_requests_total{get_token,2000} = $want")
        or diag(do { local $/; open my $l, '<', "$dir/prometheus.log"; <$l> // '' });
}

done_testing();
