# RongCloud tokens kept in the database (issue 17, WeclubsIMTokenStore db):
# after the cache is emptied (a graceful restart makes a new shmcb), users
# get the same tokens from t_im_rc_token with no getToken call; a changed
# name costs one user/refresh and updates the row; a row of another App
# Secret costs a getToken; a token table that is missing or broken never
# fails get_token; with WeclubsIMTokenStore cache the table's statements
# are never prepared. Vhosts: wcim_tokstore, wcim_tokmissing,
# wcim_tokcache. WCIM_TOKSTORE_USERS sets the number of users (500).
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Digest::SHA qw(sha1_hex);
use Encode qw(encode_utf8);
use JSON::PP ();
use POSIX ();
use Time::HiRes ();
use Apache::Test ();
use WCIM::Request qw(im check_answer);
use WCIM::DB ();
use WCIM::JSON ();
use WCIM::StandIn ();
use WCIM::Load ();

my $N = $ENV{WCIM_TOKSTORE_USERS} || 500;
my $BASE = 760000;           # student ids of this test's users
my $WORKERS = 4;
my $GT = WCIM::StandIn::GET_TOKEN;
my $REFRESH = '/user/refresh.json';
my $TAG = substr(sha1_hex('testappsecret'), 0, 8);   # the App Secret's tag
my $error_log = Apache::Test::vars('t_logs') . '/error_log';

# users: $BASE .. $BASE+$N-1 on wcim_tokstore; then a few more, each for
# one case of its own
my %token = %{ WCIM::DB::make_users($BASE, $N + 10) };
my @uids = map { $BASE + $_ } 0 .. $N - 1;
my ($RENAMED_ROW, $RENAMED_CACHED, $OLD_SECRET) = @uids[1, 0, 2];
my ($CONTROL, $MISSING, $BROKEN, $MENDED, $CACHE_ONLY) = map { $BASE + $N + $_ } 0 .. 4;
WCIM::DB::sql('DELETE FROM t_im_rc_token');

sub profile {
    my ($name, $uid) = @_;
    return sha1_hex(encode_utf8("$name\nhttp://img.example.com/u/$uid.png"));
}

sub row {
    my ($uid) = @_;
    my $rows = WCIM::DB::sql("SELECT secret_tag, profile, token FROM t_im_rc_token"
        . " WHERE app_key = 'testappkey' AND user_id = 'im_user_id_$uid'");
    return $rows->[0];
}

sub count_calls { WCIM::StandIn::control('count', path => $_[0])->{count} }

sub calls_of {
    my ($path, $uid, $since) = @_;
    return scalar @{ WCIM::StandIn::calls_for($path, "im_user_id_$uid", $since) };
}

sub log_since { WCIM::Load::log_since(@_) }

# get_token for every uid on $vhost, over a few keep-alive workers:
# returns ({ uid => im_token }, number of answers not 2000)
sub get_tokens {
    my ($uids, $vhost) = @_;
    my ($host, $port) = WCIM::Request::url('/', $vhost) =~ m{//([^:/]+):(\d+)};
    my @kids;
    for my $w (0 .. $WORKERS - 1) {
        pipe(my $r, my $wr) or die "pipe: $!";
        my $pid = fork() // die "fork: $!";
        if (!$pid) {
            close $r;
            my $json = JSON::PP->new->utf8;
            my $conn;
            for my $k (grep { $_ % $WORKERS == $w } 0 .. $#$uids) {
                my $uid = $uids->[$k];
                my $body = WCIM::Request::envelope(
                    data => [user_id => "$uid", token => $token{$uid}]);
                my ($st, $content) = WCIM::Request::post_keepalive(\$conn, $host,
                    $port, '/im/get_token', 'application/json', $body);
                my $a = $st == 200 ? eval { $json->decode($content) } : undef;
                my $ok = $a && $a->{result_code} == 2000 && $a->{data}{im_token};
                print $wr "$uid ", ($ok ? $a->{data}{im_token} : '-'), "\n";
            }
            close $wr;
            POSIX::_exit(0);
        }
        close $wr;
        push @kids, [$pid, $r];
    }
    my %got;
    for (@kids) {
        my ($pid, $r) = @$_;
        while (my $line = <$r>) {
            chomp $line;
            my ($uid, $tok) = split / /, $line, 2;
            $got{$uid} = $tok unless $tok eq '-';
        }
        waitpid($pid, 0);
    }
    return (\%got, scalar(@$uids) - scalar(keys %got));
}

sub token_of {
    my ($uid, $vhost) = @_;
    my $res = im('get_token', vhost => $vhost,
                 data => [user_id => "$uid", token => $token{$uid}]);
    my $a = eval { WCIM::JSON::decode($res->content) } || {};
    return (($a->{result_code} // 0), ($a->{data} || {})->{im_token});
}

WCIM::StandIn::reset();

# --- N users get their tokens: N getToken calls, N rows -----------------------
my ($first, $bad) = get_tokens(\@uids, 'wcim_tokstore');
is($bad, 0, "$N users get_token on wcim_tokstore: 2000 each");
is(count_calls($GT), $N, "$N getToken calls at the stand-in");
my $rows = WCIM::DB::sql("SELECT user_id, secret_tag, profile, token FROM t_im_rc_token"
                         . " WHERE app_key = 'testappkey'");
my %row = map { $_->[0] => $_ } @$rows;
is(scalar(grep {
       my $r = $row{"im_user_id_$_"};
       $r && $r->[1] eq $TAG && $r->[2] eq profile("student $_", $_)
          && $first->{$_} && $r->[3] eq $first->{$_}
   } @uids), $N,
   "$N rows in t_im_rc_token: the App Secret's tag, the profile, the token answered");

# a user of the main server (WeclubsIMTokenStore cache) has a cached token
my ($code, $control_token) = token_of($CONTROL);
is($code, 2000, 'the main server (token store: cache): a token for a control user');
ok(!row($CONTROL), 'the main server writes no row');

# --- the cache emptied: a graceful restart makes a new shmcb -------------------
# Done when the control user's token costs a getToken call again: the new
# child has an empty cache.
{
    my $pidfile = Apache::Test::vars('t_logs') . '/httpd.pid';
    open my $pf, '<', $pidfile or BAIL_OUT("$pidfile: $!");
    chomp(my $pid = <$pf>);
    close $pf;
    my $since = WCIM::StandIn::last_seq();
    ok(kill(USR1 => $pid), 'graceful restart of httpd');
    my $deadline = Time::HiRes::time() + 30;
    my $emptied = 0;
    while (Time::HiRes::time() < $deadline) {
        Time::HiRes::sleep(0.3);
        my ($c) = token_of($CONTROL);
        next unless $c == 2000;
        last if ($emptied = calls_of($GT, $CONTROL, $since)) > 0;
    }
    is($emptied, 1, 'the cache is empty after the restart: the control user costs a getToken again')
        or BAIL_OUT('the cache was not emptied: nothing below would mean anything');
}

# a changed name while the cache is empty: the row has the old profile;
# another user's row is of another App Secret
WCIM::DB::sql("UPDATE t_student SET real_name = '改名' WHERE student_id = $RENAMED_ROW");
WCIM::DB::sql("UPDATE t_im_rc_token SET secret_tag = '0ldsecr3', token = 'token-of-an-old-secret'"
              . " WHERE user_id = 'im_user_id_$OLD_SECRET'");

# --- the same users again: the same tokens, from the table ----------------------
{
    my %special = map { $_ => 1 } $RENAMED_ROW, $OLD_SECRET;
    my @plain = grep { !$special{$_} } @uids;
    my $mark = -s $error_log;
    my $since = WCIM::StandIn::last_seq();
    my ($again, $bad2) = get_tokens(\@plain, 'wcim_tokstore');
    is($bad2, 0, scalar(@plain) . ' users again after the cache was emptied: 2000 each');
    is(scalar(grep { ($again->{$_} // '') eq $first->{$_} } @plain), scalar(@plain),
       'each got the same token as before');
    is(scalar @{ WCIM::StandIn::calls(path => $GT, since => $since) }, 0,
       'no getToken call at all');
    is(scalar @{ WCIM::StandIn::calls(path => $REFRESH, since => $since) }, 0,
       'no user/refresh call either');
    my $log = log_since($mark);
    my $n = () = $log =~ /RongCloud token of im_user_id_\d+ from the token table/g;
    is($n, scalar @plain, 'each said at debug level: "from the token table"');

    # and now the cache has them again
    $mark = -s $error_log;
    my ($cached) = get_tokens([@plain[0 .. 9]], 'wcim_tokstore');
    is(scalar(grep { ($cached->{$_} // '') eq $first->{$_} } @plain[0 .. 9]), 10,
       'asked once more: the same tokens');
    my $from_cache = () = log_since($mark) =~ /RongCloud token of im_user_id_\d+ from the cache/g;
    is($from_cache, 10, 'this time from the cache (the row was put in it)');
}

# --- a changed name, the row's profile old: one user/refresh ---------------------
{
    my $since = WCIM::StandIn::last_seq();
    my ($c, $tok) = token_of($RENAMED_ROW, 'wcim_tokstore');
    is($c, 2000, 'a renamed user (the row has the old name): 2000');
    is($tok, $first->{$RENAMED_ROW}, 'the same token');
    is(calls_of($REFRESH, $RENAMED_ROW, $since), 1, 'one user/refresh call');
    is(calls_of($GT, $RENAMED_ROW, $since), 0, 'no getToken call');
    is(row($RENAMED_ROW)->[1], profile('改名', $RENAMED_ROW), "the row's profile is the new one");
}

# --- a changed name, the cache's profile old: one user/refresh, the row too -------
{
    WCIM::DB::sql("UPDATE t_student SET real_name = '又改名' WHERE student_id = $RENAMED_CACHED");
    my $since = WCIM::StandIn::last_seq();
    my ($c, $tok) = token_of($RENAMED_CACHED, 'wcim_tokstore');
    is($c, 2000, 'a renamed user (the cache has the old name): 2000');
    is($tok, $first->{$RENAMED_CACHED}, 'the same token');
    is(calls_of($REFRESH, $RENAMED_CACHED, $since), 1, 'one user/refresh call');
    is(calls_of($GT, $RENAMED_CACHED, $since), 0, 'no getToken call');
    is(row($RENAMED_CACHED)->[1], profile('又改名', $RENAMED_CACHED), "the row's profile is the new one");
}

# --- a row of another App Secret: getToken again, the row replaced ----------------
{
    my $since = WCIM::StandIn::last_seq();
    my ($c, $tok) = token_of($OLD_SECRET, 'wcim_tokstore');
    is($c, 2000, "a user whose row is of another App Secret: 2000");
    is(calls_of($GT, $OLD_SECRET, $since), 1, 'one getToken call');
    isnt($tok, 'token-of-an-old-secret', "not the old secret's token");
    my $r = row($OLD_SECRET);
    is_deeply([$r->[0], $r->[2]], [$TAG, $tok], "the row: the current App Secret's tag, the new token");
}

# --- the token table's statements cannot be prepared (wcim_tokmissing) ------------
{
    my $mark = -s $error_log;
    my $since = WCIM::StandIn::last_seq();
    my ($c, $tok) = token_of($MISSING, 'wcim_tokmissing');
    is($c, 2000, 'the token table missing: get_token answers 2000');
    is(calls_of($GT, $MISSING, $since), 1, 'from a getToken call');
    my $log = log_since($mark);
    like($log, qr/\[weclubs_im:error\].*WCIM0127: reading the token table for im_user_id_$MISSING .*rc_token_get is not prepared/,
         'the failed read is logged (WCIM0127)');
    like($log, qr/\[weclubs_im:error\].*WCIM0128: writing the token table for im_user_id_$MISSING/,
         'the failed write is logged (WCIM0128)');
    unlike($log, qr/\Q$tok\E/, 'the token is not in the log');
    my ($c2, $tok2) = token_of($MISSING, 'wcim_tokmissing');
    is_deeply([$c2, $tok2], [2000, $tok], 'asked again: the same token, from the cache');
    is(calls_of($GT, $MISSING, $since), 1, 'no second getToken call');
}

# --- the table goes away under a working configuration, and comes back -----------
{
    my $rename = sub {
        my ($from, $to) = @_;
        WCIM::DB::sql(WCIM::DB::engine() eq 'mysql' ? "RENAME TABLE $from TO $to"
                                                    : "ALTER TABLE $from RENAME TO $to");
    };
    $rename->('t_im_rc_token', 't_im_rc_token_away');
    my $mark = -s $error_log;
    my $since = WCIM::StandIn::last_seq();
    my ($c, $tok) = token_of($BROKEN, 'wcim_tokstore');
    $rename->('t_im_rc_token_away', 't_im_rc_token');
    is($c, 2000, 'the token table renamed away: get_token answers 2000');
    is(calls_of($GT, $BROKEN, $since), 1, 'from a getToken call');
    my $log = log_since($mark);
    like($log, qr/WCIM0127: reading the token table for im_user_id_$BROKEN/,
         'the failed read is logged (WCIM0127)');
    like($log, qr/WCIM0128: writing the token table for im_user_id_$BROKEN/,
         'the failed write is logged (WCIM0128)');
    ok(!row($BROKEN), 'no row was written');
    # failed statements are prepared again at most once a second
    Time::HiRes::sleep(1.2);
    ($c, $tok) = token_of($MENDED, 'wcim_tokstore');
    is($c, 2000, 'the table back: 2000');
    my $r = row($MENDED);
    is($r && $r->[2], $tok, 'and the row is written again');
}

# --- WeclubsIMTokenStore cache: the table's statements are never prepared ---------
{
    my $mark = -s $error_log;
    my $since = WCIM::StandIn::last_seq();
    my ($c) = token_of($CACHE_ONLY, 'wcim_tokcache');
    is($c, 2000, 'WeclubsIMTokenStore cache (with rc_token statements over no table): 2000');
    is(calls_of($GT, $CACHE_ONLY, $since), 1, 'from a getToken call');
    my @said = grep { /rc_token|token table|WCIM0211/ } split /\n/, log_since($mark);
    is(scalar @said, 0, 'nothing said about the token table: its statements were not prepared')
        or diag(join "\n", @said);
    ok(!row($CACHE_ONLY), 'no row written');
}

done_testing();
