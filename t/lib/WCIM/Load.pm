package WCIM::Load;
# Many users' requests at once: a few forked workers, each with its own
# keep-alive connection, share a list of users (t/19, t/28, the two-node
# simulation).
use strict;
use warnings;

use JSON::PP ();
use POSIX ();
use WCIM::Request ();

# run_all($endpoint, \@uids, \%token, rounds => 1, workers => 4,
#         vhost => undef, ports => undef)
# Every uid asks `rounds` times (rounds one after the other, uids spread
# over the workers). $endpoint may be a list: each user asks each in turn
# (['get_token', 'get_group_chat_list']: a user opening the app). ports:
# servers on 127.0.0.1, the workers spread over them (else the test
# server's vhost). Returns a hash of result codes (or "HTTP <status>") to
# how many answers had it.
sub run_all {
    my ($endpoint, $uids, $token, %o) = @_;
    my $rounds = $o{rounds} || 1;
    my $workers = $o{workers} || 4;
    my @endpoints = ref $endpoint ? @$endpoint : ($endpoint);
    my @servers = $o{ports} ? map { ['127.0.0.1', $_] } @{ $o{ports} }
                : ([ WCIM::Request::url('/', $o{vhost}) =~ m{//([^:/]+):(\d+)} ]);
    my @kids;
    for my $w (0 .. $workers - 1) {
        pipe(my $r, my $wr) or die "pipe: $!";
        my $pid = fork() // die "fork: $!";
        if (!$pid) {
            close $r;
            my ($host, $port) = @{ $servers[$w % @servers] };
            my $json = JSON::PP->new->utf8;
            my ($conn, %codes) = (undef);
            for my $round (1 .. $rounds) {
                for my $k (grep { $_ % $workers == $w } 0 .. $#$uids) {
                    my $uid = $uids->[$k];
                    my $body = WCIM::Request::envelope(
                        data => [user_id => "$uid", token => $token->{$uid}]);
                    for my $ep (@endpoints) {
                        my ($st, $content) = WCIM::Request::post_keepalive(\$conn,
                            $host, $port, "/im/$ep", 'application/json', $body);
                        my $code = $st == 200
                            ? eval { $json->decode($content)->{result_code} } : undef;
                        $codes{defined $code ? $code : "HTTP $st"}++;
                    }
                }
            }
            print $wr join(' ', %codes), "\n";
            close $wr;
            POSIX::_exit(0);
        }
        close $wr;
        push @kids, [$pid, $r];
    }
    my %codes;
    for (@kids) {
        my ($pid, $r) = @$_;
        my $line = <$r>;
        waitpid($pid, 0);
        if (!defined $line) {
            $codes{'worker died'}++;
            next;
        }
        my %got = split ' ', $line;
        $codes{$_} += $got{$_} for keys %got;
    }
    return \%codes;
}

# A value of the status page (/im-status, Prometheus' format), 0 when
# absent: metric('weclubs_im_group_syncs_dropped_total'),
# metric('weclubs_im_rongcloud_rate_waits_total{call="getToken"}').
# base => 'http://host:port' reads another server's.
sub metric {
    my ($name, %o) = @_;
    my $url = $o{base} ? "$o{base}/im-status" : WCIM::Request::url('/im-status');
    my $res = WCIM::Request::ua()->get($url);
    die "$url: " . $res->status_line . "\n" unless $res->is_success;
    for (split /\n/, $res->content) {
        return $1 if /^\Q$name\E (\S+)$/;
    }
    return 0;
}

# How many answers were not 2000.
sub not_2000 {
    my ($codes) = @_;
    my $n = 0;
    $n += $codes->{$_} for grep { $_ ne '2000' } keys %$codes;
    return $n;
}

# A graceful restart of the suite's httpd (USR1), back when $vhost's
# status page answers again (the new generation serves).
sub graceful_restart {
    my ($vhost) = @_;
    require Apache::Test;
    require Time::HiRes;
    my $pidfile = Apache::Test::vars('t_logs') . '/httpd.pid';
    open my $pf, '<', $pidfile or die "$pidfile: $!\n";
    chomp(my $pid = <$pf>);
    close $pf;
    kill(USR1 => $pid) or die "no httpd $pid\n";
    Time::HiRes::sleep(1.5);
    my $deadline = Time::HiRes::time() + 30;
    while (Time::HiRes::time() < $deadline) {
        my $res = eval { WCIM::Request::ua()->get(WCIM::Request::url('/im-status', $vhost)) };
        return 1 if $res && $res->code == 200;
        Time::HiRes::sleep(0.3);
    }
    return 0;
}

# The suite's error log from byte $mark on.
sub log_since {
    my ($mark) = @_;
    require Apache::Test;
    my $log = Apache::Test::vars('t_logs') . '/error_log';
    open my $fh, '<:raw', $log or die "$log: $!\n";
    seek $fh, $mark, 0;
    local $/;
    my $text = <$fh> // '';
    close $fh;
    return $text;
}

1;
