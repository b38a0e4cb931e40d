# WeclubsIMSQL: a replaced query changes the answer. The wcim_oldsql vhost
# runs the old server's group query, which ignored the membership status:
# user 212 quit club 100 (status 0) and is active in club 102.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Apache::Test ();
use WCIM::Request qw(im check_answer list_data);

my $photo = [102, '摄影协会', 'http://img.example.com/club/102.jpg?s=1&t=2'];
my $ball  = [100, '篮球社', 'http://img.example.com/club/100.png'];

check_answer(im('get_group_chat_list', user => 212),
             'default query: only the active membership (club 102)',
             code => 2000, data => list_data($photo));
check_answer(im('get_group_chat_list', user => 212, vhost => 'wcim_oldsql'),
             'WeclubsIMSQL groups (status ignored): clubs 100 and 102',
             code => 2000, data => list_data($ball, $photo));
check_answer(im('get_group_chat_list', user => 38, vhost => 'wcim_oldsql'),
             'WeclubsIMSQL groups: the seed user unchanged',
             code => 2000, data => WCIM::Request::SEED_LIST);

done_testing();
