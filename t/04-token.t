# The user token check (protocol.md section 4): the stored row for
# (user_id, caller), the whole token, its date part, and the lifetime.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use MIME::Base64 qw(encode_base64 decode_base64);
use Digest::MD5 qw(md5_hex);
use Apache::Test ();
use WCIM::Request qw(envelope post check_answer data_for list_data SEED_TOKEN SEED_LIST);
use WCIM::DB ();

my $list = 'get_group_chat_list';
my $TOKEN21 = 'MzE5ODBlNDJlNGQ0OGQ1ZDcwNjI3M2ZmNjBjNTA5ODVfZGF0ZT0xNDkxODE4NzIyOTQx';
my $TOKEN38_IOS = WCIM::DB::token(38, 'ios_test');

sub ask {
    my ($name, $code, %o) = @_;
    my $user = delete $o{user} // 38;
    my $token = delete $o{token};
    my $caller = $o{caller} || 'chrome_test';
    my $vhost = delete $o{vhost};
    my $data = delete $o{expect_data};
    $data = SEED_LIST if !defined $data && $code == 2000;
    my $env = envelope(%o, data => data_for($user, caller => $caller,
                                            defined $token ? (token => $token) : ()));
    check_answer(post($list, $env, vhost => $vhost), $name, code => $code,
                 defined $data ? (data => $data) : ());
}

# controls
ask('the seed token of user 38', 2000, token => SEED_TOKEN);
ask("user 21's own token", 2000, user => 21, token => $TOKEN21);
ask("user 38's ios_test token with caller ios_test", 2000,
    token => $TOKEN38_IOS, caller => 'ios_test');

# forged / foreign tokens
ask('forged: right date, another digest', 3010,
    token => encode_base64(md5_hex('forged') . '_date=1491898739098', ''));
{
    (my $plain = decode_base64(SEED_TOKEN)) =~ s/_date=\d+/_date=1491898739099/;
    ask('right digest, another date', 3010, token => encode_base64($plain, ''));
}
# one digest character changed past the 16th, same length, same _date:
# the base64 differs only past its 16th byte (a comparison that stopped
# after 16 bytes took these; issue 27)
for my $at (20, 31) {
    (my $plain = decode_base64(SEED_TOKEN)) =~ /^([0-9a-f]{32})_date=/ or die;
    my $c = substr($plain, $at, 1);
    substr($plain, $at, 1) = $c eq '0' ? '1' : '0';
    my $token = encode_base64($plain, '');
    die 'same length' unless length $token == length SEED_TOKEN;
    die 'first 16 bytes kept' unless substr($token, 0, 16) eq substr(SEED_TOKEN, 0, 16);
    ask("digest character $at changed (same length, same _date)", 3010, token => $token);
}
ask("user 21's token sent as user 38", 3010, token => $TOKEN21);
ask("user 38's token sent as user 21", 3010, user => 21, token => SEED_TOKEN);
ask("user 38's ios_test token with caller chrome_test", 3010, token => $TOKEN38_IOS);
ask("user 38's chrome_test token with caller ios_test", 3010,
    token => SEED_TOKEN, caller => 'ios_test');

# almost the stored token
ask('token in lower case', 3010, token => lc SEED_TOKEN);
ask('token with a trailing =', 3010, token => SEED_TOKEN . '=');
ask('token with a trailing newline', 3010, token => SEED_TOKEN . "\n");
ask('token with a leading space', 3010, token => ' ' . SEED_TOKEN);
ask('token cut short by one character', 3010, token => substr(SEED_TOKEN, 0, -1));
ask('base64 of the digest without _date=', 3010,
    token => encode_base64(substr(decode_base64(SEED_TOKEN), 0, 32), ''));
ask('not base64 at all', 3010, token => '***not base64***');

# stored tokens that match the request exactly but are broken themselves
ask('stored token has no _date= (user 163)', 3010, user => 163);
ask("stored token's date part differs from create_date (user 164)", 3010, user => 164);
ask('stored token is not base64 (user 165)', 3010, user => 165);

# lifetime: off on the main server, 604800 s on wcim_lifetime
ask('lifetime off: token made 8 days ago (user 160)', 2000, user => 160,
    expect_data => list_data());
ask('lifetime 7 days: token made 8 days ago refused', 3010, user => 160,
    vhost => 'wcim_lifetime');
ask('lifetime 7 days: token made 1 hour ago (user 161)', 2000, user => 161,
    vhost => 'wcim_lifetime', expect_data => list_data());
ask('lifetime 7 days: token made 7 days - 10 min ago (user 162)', 2000, user => 162,
    vhost => 'wcim_lifetime', expect_data => list_data());
ask("lifetime 7 days: the seed's 2017 token refused", 3010, token => SEED_TOKEN,
    vhost => 'wcim_lifetime');

done_testing();
