# get_group_chat_list (protocol.md section 7): which clubs are listed, in
# which order, and the exact bytes of the answer. Users: t/sql/test-data.sql.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Encode qw(encode_utf8);
use Apache::Test ();
use WCIM::Request qw(envelope post im check_answer list_data expected_body SEED_LIST);

my $list = 'get_group_chat_list';

my %club = (
    100 => [100, '篮球社', 'http://img.example.com/club/100.png'],
    101 => [101, '读书会', undef],
    102 => [102, '摄影协会', 'http://img.example.com/club/102.jpg?s=1&t=2'],
    107 => [107, 'A&B=C+D 100% 社', 'http://img.example.com/club/107.png'],
    108 => [108, '双当届社团', 'http://img.example.com/club/108.png'],
);

# The seed example, byte for byte (sys_time digits replaced).
{
    my $res = post($list, envelope());
    my $expected = '{"result_code":2000,"result_msg":"请求成功","sys_time":SYS_TIME,'
        . '"data":{"group_chat_list":[{"im_group_id":"im_club_id_1",'
        . '"avatar_url":"http://p2.wmpic.me/article/2015/03/16/1426483393_DXGAJIiR.jpeg",'
        . '"last_msg_content":null,"club_id":1,"fresh_msg_count":0,'
        . '"club_name":"社团联合会","last_msg_date":0}]}}';
    (my $got = $res->content) =~ s/("sys_time":)\d+/${1}SYS_TIME/;
    is($got, encode_utf8($expected), 'the seed example, byte for byte');
    is($expected, expected_body(2000, SEED_LIST), '(the shared SEED_LIST agrees)');
    check_answer($res, 'the seed example: envelope', code => 2000, data => SEED_LIST);
}

my @cases = (
    [100, 'no membership at all: null', []],
    [101, 'one club', [100]],
    [102, 'three clubs, ordered by club_id, NULL avatar as null', [100, 101, 102]],
    [110, 'quit (status 0) membership excluded', [107]],
    [111, 'refused (status 2) membership excluded', [107]],
    [112, 'deleted relation (is_del 1) excluded', [107]],
    [113, "membership of a club's old term only excluded", [107]],
    [114, 'club waiting for approval (status 0) excluded', [107]],
    [115, 'refused club (status 2) excluded', [107]],
    [116, 'frozen club (status 3) excluded', [107]],
    [117, 'two relation rows in one club: listed once', [100]],
    [118, 'member of two current terms of one club: listed once', [108]],
    [119, "member of an old term only, club's current term lists others: null", []],
);

for my $c (@cases) {
    my ($uid, $name, $clubs) = @$c;
    check_answer(im($list, user => $uid), "user $uid: $name", code => 2000,
                 data => list_data(map { $club{$_} } @$clubs));
}

# the same answer with the SHA1 form
check_answer(im($list, user => 102, form => 'sha1'), 'user 102, SHA1-signed',
             code => 2000, data => list_data(map { $club{$_} } 100, 101, 102));

# the same list twice in a row is the same list
check_answer(im($list, user => 102), 'user 102 again', code => 2000,
             data => list_data(map { $club{$_} } 100, 101, 102));

done_testing();
