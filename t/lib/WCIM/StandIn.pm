package WCIM::StandIn;
# Client of the RongCloud stand-in's control API (t/rongcloud_standin.py).
use strict;
use warnings;

use HTTP::Tiny ();
use JSON::PP ();
use Time::HiRes ();
use WCIM::DB ();

use constant GET_TOKEN => '/user/getToken.json';
use constant SYNC      => '/group/sync.json';

sub port {
    return $ENV{WCIM_RC_PORT} if $ENV{WCIM_RC_PORT};
    my $file = WCIM::DB::t_dir() . '/logs/standin.port';
    open my $fh, '<', $file or die "WCIM_RC_PORT unset and no $file: $!\n";
    chomp(my $port = <$fh>);
    return $port;
}

sub uri_escape {
    my $s = shift;
    $s =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

my $http;
sub control {
    my ($what, %q) = @_;
    $http ||= HTTP::Tiny->new(timeout => 10);
    my $query = join '&', map { "$_=" . uri_escape($q{$_}) } sort keys %q;
    my $url = 'http://127.0.0.1:' . port() . "/_control/$what"
            . ($query ? "?$query" : '');
    my $res = $http->get($url);
    die "stand-in $url: $res->{status} $res->{reason} $res->{content}\n"
        unless $res->{success};
    return JSON::PP->new->utf8->decode($res->{content});
}

sub reset { control('reset') }

# mode('e503', path => GET_TOKEN, delay => 1, count => 1, code => 1005)
sub mode {
    my ($set, %o) = @_;
    control('mode', set => $set, %o);
}

# All recorded calls (optionally of one path, after seq $since).
sub calls {
    my (%o) = @_;
    my %q;
    $q{path} = $o{path} if $o{path};
    $q{since} = $o{since} if $o{since};
    return control('calls', %q)->{calls};
}

# The seq of the newest recorded call (0 when none).
sub last_seq {
    my $calls = calls();
    return @$calls ? $calls->[-1]{seq} : 0;
}

# The value of a form field of a call ("first" if repeated).
sub field {
    my ($call, $name) = @_;
    for (@{ $call->{form} }) {
        return $_->[1] if $_->[0] eq $name;
    }
    return undef;
}

# The clubs of a group/sync call's set, by number, sorted, as one string.
sub sync_clubs {
    my ($call) = @_;
    return join ' ', sort map { $_->[0] =~ /^group\[im_club_id_(\d+)\]$/ ? $1 : () }
                          @{ $call->{form} };
}

# Calls to $path for RongCloud user $rc_user (userId field), after $since.
sub calls_for {
    my ($path, $rc_user, $since) = @_;
    return [ grep { defined field($_, 'userId') && field($_, 'userId') eq $rc_user }
             @{ calls(path => $path, since => $since) } ];
}

# Poll until at least $n calls matching calls_for() exist or $timeout s pass.
sub wait_calls {
    my ($path, $rc_user, $since, $n, $timeout) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    my $calls;
    while (1) {
        $calls = calls_for($path, $rc_user, $since);
        last if @$calls >= $n || Time::HiRes::time() >= $deadline;
        Time::HiRes::sleep(0.1);
    }
    return $calls;
}

# Whether a client would connect to RongCloud with $token now.
sub connects {
    my ($token) = @_;
    return control('connect', token => $token)->{connects} ? 1 : 0;
}

# Every token issued so far stops connecting (user/token/expire for all).
sub expire_all { control('expire', user => 'all') }

# The token lifetime of RongCloud's console, in seconds ('off': none).
sub token_lifetime { control('token_lifetime', seconds => $_[0]) }

# What RongCloud holds now (group/sync, quit, dismiss, refresh, getToken,
# user/refresh, block and unblock change it; reset keeps it).

# The users bound to group $group, sorted (an arrayref).
sub members { control('members', group => $_[0])->{users} }

# The groups user $user is bound to: hashref groupId => name.
sub groups_of { control('groups', user => $_[0])->{groups} }

# { name, portraitUri, blocked (true/false), blockEnd (s or undef) } of $user.
sub user_info { control('user', user => $_[0]) }

# { name (undef if none), members (count) } of group $group.
sub group_info { control('group', group => $_[0]) }

# A clean RongCloud: no memberships, names or blocks (tokens stay valid).
sub forget { control('forget') }

1;
