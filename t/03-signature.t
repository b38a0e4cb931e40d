# The request signature (protocol.md section 3) and the directives around it:
# WeclubsIMSignForms, WeclubsIMSignCheck, WeclubsIMSignSecret file:,
# WeclubsIMCallers.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Apache::Test ();
use Digest::MD5 ();
use Digest::SHA ();
use WCIM::JSON qw(jint);
use WCIM::Request qw(envelope post check_answer data_for list_data SEED_TOKEN SEED_LIST);
use WCIM::Sign qw(sign FILE_SECRET);

my $list = 'get_group_chat_list';
my $good = [user_id => '38', token => SEED_TOKEN];

sub ask {
    my ($name, $code, %o) = @_;
    my $vhost = delete $o{vhost};
    my %exp = (code => $code);
    $exp{data} = delete $o{expect_data} if exists $o{expect_data};
    $exp{data} = SEED_LIST if $code == 2000 && !exists $exp{data};
    return check_answer(post($list, envelope(%o), vhost => $vhost), $name, %exp);
}

# both forms by default
ask('default: MD5-of-SHA1 form', 2000, form => 'md5');
ask('default: SHA1 form', 2000, form => 'sha1');
ask('the spec vector signs (MD5-of-SHA1)', 2000, sign => '0705b4dc0a406ed0e3bc5013c685943c');
ask('the spec vector signs (SHA1)', 2000, sign => '56072054521d911e34d7c0345a54990d4d2e891f');
ask("the seed's placeholder sign", 3003, sign => '5d7d99de073c7ca73aa1e3188313933a');

# exact comparison: upper case refused
ask('upper-case MD5-of-SHA1 sign', 3003, sign => uc sign($good, form => 'md5'));
ask('upper-case SHA1 sign', 3003, sign => uc sign($good, form => 'sha1'));
ask('MD5 of the lower-case SHA1 (not upper-cased first)', 3003,
    sign => Digest::MD5::md5_hex(sign($good, form => 'sha1')));

# the sign covers the data
ask('sign made over another user_id', 3003,
    sign => sign([user_id => '39', token => SEED_TOKEN]));
ask('sign made over another token', 3003,
    sign => sign([user_id => '38', token => SEED_TOKEN . 'x']));
ask('sign made without an extra member that is sent', 3003,
    data => [@$good, extra => '1'], sign => sign($good));
ask('sign made with another secret', 3003, secret => 'not-the-secret');
ask('sign made with the secret only once', 3003,
    sign => Digest::MD5::md5_hex(uc Digest::SHA::sha1_hex(
        '8924d49e61e1dc9e1618d3bae21ea493' . 'token' . SEED_TOKEN . 'user_id38')));

# user_id as integer and as string: the same signature text
my $sig = sign($good);
ask('user_id "38" with the sign', 2000, sign => $sig);
ask('user_id 38 (integer) with the same sign', 2000,
    data => [user_id => jint(38), token => SEED_TOKEN], sign => $sig);
ask('user_id 38 (integer), SHA1 form', 2000,
    data => [user_id => jint(38), token => SEED_TOKEN], form => 'sha1');

# keys sorted by bytes: Z (0x5a) < _ (0x5f) < a (0x61)
my @mixed = (@$good, alpha => 'a', Zeta => 'z', _x => 'u');
ask('upper/lower-case keys, byte order', 2000, data => \@mixed);
{
    my %h = @mixed;
    my $ci = join '', map { $_ . $h{$_} } sort { lc $a cmp lc $b } keys %h;
    my $secret = '8924d49e61e1dc9e1618d3bae21ea493';
    ask('case-insensitive key order refused', 3003, data => \@mixed,
        sign => Digest::MD5::md5_hex(uc Digest::SHA::sha1_hex($secret . $ci . $secret)));
}

# values: UTF-8 text, JSON escapes decoded before signing
ask('Chinese value signed as UTF-8', 2000, data => [@$good, nick => '张三']);
ask('escaped quote, backslash, slash, tab, é', 2000,
    data => [@$good, q => "a\"b\\c/d\te\x{e9}"]);
{
    my $body = envelope(data => [@$good, q => '/é'], form => 'md5');
    # same value written with JSON escapes \/ and \u00e9
    $body =~ s{"q":"/\xc3\xa9"}{"q":"\\/\\u00e9"} or die 'no q member';
    check_answer(post($list, $body), 'value written with \\/ and \\u00e9 escapes',
                 code => 2000, data => SEED_LIST);
}

# vhosts that accept one form only
ask('sha1-only vhost: SHA1 form', 2000, vhost => 'wcim_sha1', form => 'sha1');
ask('sha1-only vhost: MD5-of-SHA1 form refused', 3003, vhost => 'wcim_sha1', form => 'md5');
ask('md5-only vhost: MD5-of-SHA1 form', 2000, vhost => 'wcim_md5', form => 'md5');
ask('md5-only vhost: SHA1 form refused', 3003, vhost => 'wcim_md5', form => 'sha1');

# SignCheck Off: no signature needed; the other checks stay
ask('SignCheck Off: a bad sign accepted', 2000, vhost => 'wcim_nosign', sign => 'bad');
ask('SignCheck Off: no sign accepted', 2000, vhost => 'wcim_nosign', no_sign => 1);
ask('SignCheck Off: callers still checked', 3004, vhost => 'wcim_nosign',
    caller => 'evil_app', sign => 'bad');
ask('SignCheck Off: tokens still checked', 3010, vhost => 'wcim_nosign',
    data => [user_id => '38', token => 'garbage'], sign => 'bad');

# the secret read from a file
ask('file secret: signed with it', 2000, vhost => 'wcim_filesecret', secret => FILE_SECRET);
ask('file secret: SHA1 form signed with it', 2000, vhost => 'wcim_filesecret',
    secret => FILE_SECRET, form => 'sha1');
ask('file secret: the weclubs secret refused there', 3003, vhost => 'wcim_filesecret');

# WeclubsIMCallers: user 170 has tokens for partner_app and chrome_test
my $u170 = list_data();
ask('callers vhost: partner_app listed', 2000, vhost => 'wcim_callers',
    caller => 'partner_app', data => data_for(170, caller => 'partner_app'),
    expect_data => $u170);
ask('callers vhost: chrome_test not listed there', 3004, vhost => 'wcim_callers',
    data => data_for(170));
ask('main server: partner_app not on the default list', 3004,
    caller => 'partner_app', data => data_for(170, caller => 'partner_app'));
ask('main server: ios_test on the default list', 2000,
    caller => 'ios_test', data => data_for(38, caller => 'ios_test'));
ask('main server: weclubs_android on the default list (no token row: 3010)', 3010,
    caller => 'weclubs_android');

done_testing();
