# Every directive refuses a missing or malformed value at `apache2 -t`
# (apachectl configtest), with a message that names the directive; and a
# correct configuration passes. Each case is a small configuration of its
# own that loads the freshly built module.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Temp ();
use Apache::Test ();
use Apache::TestConfig ();
use WCIM::Setup ();

my $vars  = Apache::Test::config()->{vars};
my $httpd = $vars->{httpd};
my $top   = $vars->{top_dir};
my $mods  = WCIM::Setup::httpd_moduledir();
my $dir   = File::Temp::tempdir(CLEANUP => 1);

sub secret_file {
    my ($name, $mode, $content) = @_;
    my $f = "$dir/$name";
    open my $fh, '>', $f or die "$f: $!";
    print $fh $content;
    close $fh;
    chmod $mode, $f;
    return $f;
}
my $private = secret_file('private.secret', 0600, "s3cret\n");
my $public  = secret_file('public.secret', 0644, "s3cret\n");
my $empty   = secret_file('empty.secret', 0600, "\n");
my $gwrite  = secret_file('gwrite.secret', 0620, "s3cret\n");
my $group   = secret_file('group.secret', 0640, "s3cret\n");

# configtest($lines) -> (exit status, output)
sub configtest {
    my ($lines, $no_dbd) = @_;
    my $conf = "$dir/httpd.conf";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh <<"EOC";
ServerRoot "$dir"
ServerName localhost
Listen 127.0.0.1:1
PidFile "$dir/httpd.pid"
DefaultRuntimeDir "$dir"
ErrorLog "$dir/error_log"
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
EOC
    print $fh "LoadModule dbd_module $mods/mod_dbd.so\n" unless $no_dbd;
    print $fh "LoadModule weclubs_im_module $top/.libs/mod_weclubs_im.so\n";
    print $fh "$lines\n";
    close $fh;
    my $out = `'$httpd' -t -f '$conf' 2>&1`;
    return ($? >> 8, $out);
}

my $ok = "WeclubsIMSignSecret s3cret";

# Loading the module and nothing else (a2enmod before any configuration)
# must not break a server.
my ($st, $out) = configtest('');
is($st, 0, 'module loaded, not configured: configtest passes') or diag($out);
($st, $out) = configtest($ok);
is($st, 0, 'a minimal configuration passes') or diag($out);
($st, $out) = configtest("WeclubsIMSignSecret file:$private\n"
    . "WeclubsIMRongCloudAppSecret file:$private\nWeclubsIMSignForms sha1 md5-sha1\n"
    . "WeclubsIMSignCheck On\nWeclubsIMCallers a b\nWeclubsIMTokenLifetime off\n"
    . "WeclubsIMRongCloudAppKey k\nWeclubsIMRongCloudURL https://a.example http://b.example:8080/\n"
    . "WeclubsIMRongCloudTimeout 1500ms\nWeclubsIMRongCloudConnectTimeout 500ms\nWeclubsIMGroupSync Off\nWeclubsIMMaxBody 1024\n"
    . "WeclubsIMCache shmcb\nWeclubsIMCacheTTL 3600\nWeclubsIMTokenStore db\n"
    . "WeclubsIMRongCloudRateWait 9\nWeclubsIMRongCloudTokenLifetime 720h\nWeclubsIMTokenRecheck off\n"
    . "WeclubsIMReconcileInterval 5mi\nWeclubsIMRongCloudRateLimit user/block 50\n"
    . "WeclubsIMSQL token \"SELECT token, create_date FROM t_token WHERE uid = %lld AND caller = %s\"\n"
    . "<VirtualHost 127.0.0.1:1>\nWeclubsIMTokenLifetime 60\n</VirtualHost>");
is($st, 0, 'every directive with a good value passes') or diag($out);

my @bad = (
    ['WeclubsIMCallers chrome_test', qr/WeclubsIMSignSecret is required while WeclubsIMSignCheck is On/, 'no secret while checks are on'],
    ["WeclubsIMSignSecret \"\"", qr/WeclubsIMSignSecret (?:needs a non-empty secret|takes one argument)/, 'empty secret'],
    ["WeclubsIMSignSecret file:$public", qr/WeclubsIMSignSecret: secret file .* readable by every user/, 'world-readable secret file'],
    ["WeclubsIMSignSecret file:$dir/none", qr/WeclubsIMSignSecret: cannot read secret file/, 'missing secret file'],
    ["WeclubsIMSignSecret file:$gwrite", qr/WeclubsIMSignSecret: secret file .* writable by others/, 'group-writable secret file'],
    ["WeclubsIMSignSecret file:$dir", qr/WeclubsIMSignSecret: secret file .* is not a regular file/, 'a directory as secret file'],
    ["$ok\nWeclubsIMRongCloudURL https://user:pw\@api.example", qr/WeclubsIMRongCloudURL: .* is not an http/, 'URL with a password'],
    ["WeclubsIMSignSecret file:$empty", qr/WeclubsIMSignSecret: secret file .* is empty/, 'empty secret file'],
    ["$ok\nWeclubsIMSignForms md5", qr/WeclubsIMSignForms: 'md5' is not a signature form/, 'unknown signature form'],
    ["$ok\nWeclubsIMSignCheck maybe", qr/WeclubsIMSignCheck must be On or Off/, 'SignCheck not a flag'],
    ["$ok\nWeclubsIMCallers", qr/WeclubsIMCallers needs at least one caller/, 'no callers'],
    ["$ok\nWeclubsIMTokenLifetime soon", qr/WeclubsIMTokenLifetime takes a number of seconds or 'off'/, 'lifetime not a number'],
    ["$ok\nWeclubsIMTokenLifetime -5", qr/WeclubsIMTokenLifetime takes/, 'negative lifetime'],
    ["$ok\nWeclubsIMRongCloudAppSecret file:$public", qr/WeclubsIMRongCloudAppSecret: secret file .* readable by every user/, 'world-readable app secret'],
    ["$ok\nWeclubsIMRongCloudURL ftp://api.example", qr/WeclubsIMRongCloudURL: 'ftp:\/\/api.example' is not an http/, 'URL not http(s)'],
    ["$ok\nWeclubsIMRongCloudURL api.rong-api.com", qr/WeclubsIMRongCloudURL: .* is not an http/, 'URL without scheme'],
    ["$ok\nWeclubsIMRongCloudTimeout 0", qr/WeclubsIMRongCloudTimeout takes a time up to 300 s/, 'zero time-out'],
    ["$ok\nWeclubsIMRongCloudRateWait off", qr/WeclubsIMRongCloudRateWait takes a time up to 300 s/, 'rate wait off (a time only)'],
    ["$ok\nWeclubsIMRongCloudRateWait 0", qr/WeclubsIMRongCloudRateWait takes/, 'zero rate wait'],
    ["$ok\nWeclubsIMRongCloudTokenLifetime forever", qr/WeclubsIMRongCloudTokenLifetime takes off or a time/, 'token lifetime not a time'],
    ["$ok\nWeclubsIMTokenRecheck 0", qr/WeclubsIMTokenRecheck takes off or a time up to 86400 s/, 'zero recheck'],
    ["$ok\nWeclubsIMTokenRecheck 2d", qr/WeclubsIMTokenRecheck takes/, 'recheck with an unknown unit'],
    ["$ok\nWeclubsIMReconcileInterval -1", qr/WeclubsIMReconcileInterval takes off or a time/, 'negative reconcile interval'],
    ["$ok\nWeclubsIMRongCloudRateLimit user/kick 5", qr/WeclubsIMRongCloudRateLimit/, 'rate limit of an unknown call'],
    ["$ok\nWeclubsIMRongCloudTimeout 301", qr/WeclubsIMRongCloudTimeout takes/, 'time-out over 300 s'],
    ["$ok\nWeclubsIMRongCloudConnectTimeout 0", qr/WeclubsIMRongCloudConnectTimeout takes a time up to 300 s/, 'zero connection time-out'],
    ["$ok\nWeclubsIMRongCloudConnectTimeout soon", qr/WeclubsIMRongCloudConnectTimeout takes/, 'connection time-out not a time'],
    ["$ok\nWeclubsIMRongCloudCAFile $dir/none.pem", qr/WeclubsIMRongCloudCAFile: .* is not a readable file/, 'missing CA file'],
    ["$ok\nWeclubsIMGroupSync sometimes", qr/WeclubsIMGroupSync must be On or Off/, 'GroupSync not a flag'],
    ["$ok\nWeclubsIMMaxBody 10", qr/WeclubsIMMaxBody takes a number of bytes from 256/, 'MaxBody too small'],
    ["$ok\nWeclubsIMMaxBody lots", qr/WeclubsIMMaxBody takes/, 'MaxBody not a number'],
    ["$ok\nWeclubsIMSQL members \"SELECT 1 FROM t\"", qr/WeclubsIMSQL: 'members' is not one of the module's statements \(token, user, groups, token_groups, token_user, groups_messages,/, 'unknown statement'],
    ["$ok\nWeclubsIMSQL messages \"SELECT 1 FROM t\"", qr/WeclubsIMSQL messages was replaced by groups_messages/, 'the old messages statement'],
    ["$ok\nWeclubsIMSQL groups \"SELECT c.club_id, c.name FROM t_club c WHERE c.club_id = %lld\"", qr/WeclubsIMSQL groups: the query selects 2 columns, it must select 3/, 'too few columns'],
    ["$ok\nWeclubsIMSQL token \"SELECT token, create_date FROM t_token WHERE uid = %lld\"", qr/WeclubsIMSQL token: the query has 1 placeholders, it must have 2/, 'too few placeholders'],
    ["$ok\nWeclubsIMSQL user \"SELECT * FROM t_student WHERE student_id = %lld\"", qr/WeclubsIMSQL user: name the 3 selected columns/, 'SELECT *'],
    ["$ok\nWeclubsIMCache nosuch", qr/WeclubsIMCache: unknown cache provider 'nosuch'/, 'unknown cache provider'],
    ["$ok\nWeclubsIMTokenStore redis", qr/WeclubsIMTokenStore takes cache or db, not 'redis'/, 'unknown token store'],
    ["$ok\nWeclubsIMTokenStore", qr/WeclubsIMTokenStore takes one argument/, 'token store without a value'],
    ["$ok\nWeclubsIMCacheTTL never", qr/WeclubsIMCacheTTL takes a positive time/, 'bad cache TTL'],
    ["$ok\n<VirtualHost 127.0.0.1:1>\nWeclubsIMCache shmcb\n</VirtualHost>", qr/WeclubsIMCache cannot occur within <VirtualHost> section/, 'cache inside a vhost'],
    ["$ok\n<VirtualHost 127.0.0.1:1>\nWeclubsIMCacheTTL 60\n</VirtualHost>", qr/WeclubsIMCacheTTL cannot occur within <VirtualHost> section/, 'cache TTL inside a vhost'],
);
for my $case (@bad) {
    my ($lines, $re, $name) = @$case;
    my ($status, $output) = configtest($lines);
    isnt($status, 0, "$name: configtest fails");
    like($output, $re, "$name: the message says why") or diag($output);
}

($st, $out) = configtest("WeclubsIMSignSecret file:$group");
is($st, 0, 'a group-readable secret file (root:www-data 0640) is fine') or diag($out);

($st, $out) = configtest($ok, 1);
isnt($st, 0, 'without mod_dbd: configtest fails');
like($out, qr/mod_dbd is not loaded/, 'without mod_dbd: the message says so');

($st, $out) = configtest("WeclubsIMSignCheck Off");
is($st, 0, 'SignCheck Off needs no secret');
like($out, qr/WeclubsIMSignCheck is Off/, 'SignCheck Off: a warning at start-up');

# with message routing on, the list comes from groups_messages: a custom
# groups query alone is said to be unused
my $groups = "WeclubsIMSQL groups \"SELECT c.club_id, c.name, c.avatar_url FROM t_club c WHERE c.club_id = %lld\"";
($st, $out) = configtest("$ok\nWeclubsIMMessages On\n$groups");
is($st, 0, 'Messages On with a custom groups query: configtest passes') or diag($out);
like($out, qr/WCIM0010: WeclubsIMSQL groups is set but WeclubsIMMessages is On .*set WeclubsIMSQL groups_messages/,
     'Messages On with a custom groups query only: a warning names groups_messages');
($st, $out) = configtest("$ok\nWeclubsIMMessages On\n$groups\nWeclubsIMSQL groups_messages \"SELECT c.club_id, c.name, c.avatar_url, NULL, NULL, 0 FROM t_club c WHERE c.name <> %s AND c.name <> %s AND c.club_id = %lld\"");
is($st, 0, 'Messages On with both queries: configtest passes') or diag($out);
unlike($out, qr/WCIM0010/, 'Messages On with both queries: no warning');
($st, $out) = configtest("$ok\n$groups");
unlike($out, qr/WCIM0010/, 'a custom groups query without message routing: no warning');

# issue 14: a replaced token or groups query makes the list take two
# statements (token_groups reads both in one): said at start-up
my $token_sql = "WeclubsIMSQL token \"SELECT token, create_date FROM t_token WHERE uid = %lld AND caller = %s\"";
my $tg_sql = "WeclubsIMSQL token_groups \"SELECT t.token, t.create_date, c.club_id, c.name, c.avatar_url FROM t_token t LEFT JOIN t_club c ON c.club_id = t.uid WHERE t.uid = %lld AND t.caller = %s\"";
($st, $out) = configtest("$ok\nLogLevel notice\n$groups");
like($out, qr/WCIM0017: WeclubsIMSQL groups is set .*two statements.*WeclubsIMSQL token_groups reads both in one/,
     'a custom groups query: the list takes two statements, said');
($st, $out) = configtest("$ok\nLogLevel notice\n$token_sql");
like($out, qr/WCIM0017: WeclubsIMSQL token is set/, 'a custom token query: said too');
like($out, qr/WCIM0018: WeclubsIMSQL token is set .*get_token reads the token and the student with two statements.*WeclubsIMSQL token_user reads both in one/,
     'and for get_token');
my $user_sql = "WeclubsIMSQL user \"SELECT real_name, nick_name, avatar_url FROM t_student WHERE student_id = %lld\"";
my $tu_sql = "WeclubsIMSQL token_user \"SELECT t.token, t.create_date, s.student_id, s.real_name, s.nick_name, s.avatar_url FROM t_token t LEFT JOIN t_student s ON s.student_id = t.uid WHERE t.uid = %lld AND t.caller = %s\"";
($st, $out) = configtest("$ok\nLogLevel notice\n$user_sql");
like($out, qr/WCIM0018: WeclubsIMSQL user is set/, 'a custom user query: get_token takes two statements, said');
unlike($out, qr/WCIM0017/, 'a custom user query: the list is not concerned');
($st, $out) = configtest("$ok\nLogLevel notice\n$user_sql\n$tu_sql");
is($st, 0, 'token_user replaced too: configtest passes') or diag($out);
unlike($out, qr/WCIM0018/, 'token_user replaced too: nothing to say');
($st, $out) = configtest("$ok\nLogLevel notice\n$groups\n$tg_sql");
is($st, 0, 'token_groups replaced too: configtest passes') or diag($out);
unlike($out, qr/WCIM0017/, 'token_groups replaced too: nothing to say');
($st, $out) = configtest("$ok\nLogLevel notice");
unlike($out, qr/WCIM001[78]/, 'the default queries: nothing to say');
($st, $out) = configtest("$ok\nLogLevel notice\nWeclubsIMMessages On\n$groups");
unlike($out, qr/WCIM0017/, 'message routing lists through groups_messages: nothing to say');
($st, $out) = configtest("$ok\nWeclubsIMSQL token_groups \"SELECT t.token, t.create_date, c.club_id FROM t_token t, t_club c WHERE t.uid = %lld AND t.caller = %s\"");
isnt($st, 0, 'a token_groups query with 3 columns: refused');
like($out, qr/token_groups: the query selects 3 columns, it must select 5/, 'and the message says so');

# the cache's capacity, said by configtest as at start-up (issue 16)
($st, $out) = configtest($ok);
like($out, qr/WCIM0408: WeclubsIMCache shmcb of 16777216 bytes: about \d+ entries, .* of about (\d+) users/,
     'the default cache: its capacity is said');
my ($users) = $out =~ /of about (\d+) users/;
cmp_ok($users // 0, '>=', 20000, 'the default cache holds a campus (20,000 users or more)');
($st, $out) = configtest("$ok\nWeclubsIMCache \"shmcb:$dir/small(512000)\"");
is($st, 0, 'a small shmcb passes');
like($out, qr/WCIM0407: WeclubsIMCache shmcb of 512000 bytes holds .* about \d+ users/,
     'a small shmcb: a warning says how few users it holds');

# issue 12, item 15: message routing without a cache refuses replays only in
# the database (issue 23: t_im_nonce), after their bodies were read
($st, $out) = configtest("$ok\nWeclubsIMCache none\nWeclubsIMMessages On");
is($st, 0, 'Messages On with WeclubsIMCache none: configtest passes') or diag($out);
like($out, qr/WCIM0013: WeclubsIMMessages is On but WeclubsIMCache is none/,
     'a notice says replays are then refused by the database only');
($st, $out) = configtest("$ok\nWeclubsIMCache none");
unlike($out, qr/WCIM0013/, 'no cache without message routing: no such warning');
unlike($out, qr/WCIM040[78]/, 'no cache: no capacity said');

# issue 12, item 14: the removed WeclubsIMReplayWindow
($st, $out) = configtest("$ok\nWeclubsIMReplayWindow 600");
is($st, 0, 'WeclubsIMReplayWindow still parses') or diag($out);
like($out, qr/WCIM0012: WeclubsIMReplayWindow is ignored/, 'and is said to be ignored');

done_testing();
