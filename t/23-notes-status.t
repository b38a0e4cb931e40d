# Smaller items of issue 12 (item 15): the access log's user and caller
# notes only for proved requests (others: weclubs-im-claimed-*); refused
# routing posts said at most every 10 s; the status page answers 405 to
# other methods than GET.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Digest::SHA qw(sha1_hex);
use HTTP::Request ();
use Time::HiRes ();
use Apache::Test ();
use WCIM::Request qw(im check_answer);
use WCIM::Setup ();

my $logs = Apache::Test::vars('t_logs');

# --- request notes --------------------------------------------------------------
my $mark = -s "$logs/notes_log" || 0;
check_answer(im('get_group_chat_list', user => 38, id => "notes-ok-$$"), 'a proved request', code => 2000);
check_answer(im('get_group_chat_list', user => 38, id => "notes-forged-$$", sign => 'f' x 32),
             'a forged one', code => 3003);
check_answer(im('get_group_chat_list', user => 38, id => "notes-token-$$",
                data => [user_id => '38', token => 'bm90IGEgdG9rZW4=']),
             'a wrong token', code => 3010);
my %line;
{
    open my $fh, '<', "$logs/notes_log" or die "notes_log: $!";
    seek $fh, $mark, 0;
    while (<$fh>) {
        chomp;
        my @f = split / /;
        $line{$f[0]} = \@f if @f == 5;
    }
}
# fields: result user caller claimed-user claimed-caller ("-" when unset)
is_deeply([@{ $line{2000} || [] }[1 .. 4]], ['38', 'chrome_test', '-', '-'],
          'proved: weclubs-im-user and -caller');
# (the user id is read after the signature: a forged request names none)
is_deeply([@{ $line{3003} || [] }[1 .. 4]], ['-', '-', '-', 'chrome_test'],
          'a forged signature: only the claimed caller');
is_deeply([@{ $line{3010} || [] }[1 .. 4]], ['-', '-', '38', 'chrome_test'],
          'a wrong token: only the claimed user and caller');

# --- refused routing posts, said at most every 10 s ----------------------------
{
    my $emark = -s "$logs/error_log" || 0;
    for my $i (1 .. 30) {
        my $ts = int(Time::HiRes::time() * 1000);
        my $req = HTTP::Request->new(POST => WCIM::Request::url(
            "/im/rongcloud?nonce=forged$i&signTimestamp=$ts&signature=" . sha1_hex("guess$i"),
            'wcim_messages'));
        $req->header('Content-Type' => 'application/x-www-form-urlencoded');
        $req->content('a=b');
        WCIM::Request::ua()->request($req)->code == 401 or die "not 401";
    }
    open my $fh, '<', "$logs/error_log" or die $!;
    seek $fh, $emark, 0;
    my @said = grep { /WCIM0150/ } <$fh>;
    cmp_ok(scalar @said, '<=', 1, '30 forged posts in a row: at most one warning line');
}

# --- the status page ---------------------------------------------------------------
{
    my $res = WCIM::Request::post(undef, 'x=1', path => '/im-status');
    is($res->code, 405, 'POST to the status page: 405');
    like($res->header('Allow') // '', qr/\bGET\b/, 'Allow names GET') or diag($res->as_string);
}

done_testing();
