# One signed routing post, one stored message (issue 23, items 2 and 8).
# RongCloud's signature covers secret + nonce + signTimestamp, not the
# body: whoever holds one signed query string may post any body under it,
# on as many connections at once as he likes. The nonce is taken in the
# database (t_im_nonce, sql/<engine>/nonces.sql) before the post is stored,
# so one of them wins; given back when the post could not be stored, so
# RongCloud's retry goes through; and when it cannot be taken (the table
# failing, or missing on a site upgraded without nonces.sql) the post is
# refused with 503, never stored unchecked.
# Vhost wcim_messages; the users and club of this test's own.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Digest::SHA qw(sha1_hex);
use IO::Select ();
use IO::Socket::INET ();
use Time::HiRes ();
use Apache::Test ();
use Apache::TestRequest ();
use HTTP::Response ();
use WCIM::DB ();
use WCIM::Setup ();
use WCIM::Route qw(now_ms text form_escape route_request);
use WCIM::Request ();

my $BASE = 735000;
WCIM::DB::make_users($BASE, 2, clubs => 1);
my ($sender, $club) = ($BASE + 1, $BASE);
my $SECRET = $WCIM::Route::SECRET;

sub stored_like {
    my ($pattern) = @_;
    return WCIM::DB::sql('SELECT COUNT(*) FROM t_im_message WHERE msg_uid LIKE '
                         . WCIM::DB::quote($pattern))->[0][0];
}

sub body_of {
    my ($uid, $text) = @_;
    my %f = (fromUserId => "im_user_id_$sender", toUserId => "im_club_id_$club",
             objectName => 'RC:TxtMsg', channelType => 'GROUP',
             content => text($text // 'hi'), msgTimestamp => now_ms(), msgUID => $uid);
    return join '&', map { "$_=" . form_escape($f{$_}) } sort keys %f;
}

sub post {
    my (%o) = @_;
    my %f = (fromUserId => "im_user_id_$sender", toUserId => "im_club_id_$club",
             objectName => 'RC:TxtMsg', channelType => 'GROUP',
             content => text('hi'), msgTimestamp => now_ms(), %{ $o{fields} });
    return WCIM::Request::ua()->request(route_request(%o, fields => \%f));
}

# After a schema change a connection's SQLite statements fail until they
# are prepared again, which the store does at most once a second per
# statement and connection (wcim_stmt_repair): a second's pause after each
# trigger made or dropped, so that the next post is not refused for that.
sub schema_settles { Time::HiRes::sleep(1.1) if WCIM::DB::engine() eq 'sqlite' }

# A trigger that makes INSERTs into $table fail (for the rows whose $col is
# $value, or all rows), in the engine's dialect; and its removal.
sub fail_inserts {
    my ($table, $col, $value) = @_;
    my $e = WCIM::DB::engine();
    my $name = "${table}_test_fail";
    my $when = defined $value ? "NEW.$col = " . WCIM::DB::quote($value) : '1 = 1';
    if ($e eq 'sqlite') {
        WCIM::DB::script(undef, "CREATE TRIGGER $name BEFORE INSERT ON $table "
            . "WHEN $when BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;");
    }
    elsif ($e eq 'mysql') {
        WCIM::DB::script(undef, 'DELIMITER //',
            "CREATE TRIGGER $name BEFORE INSERT ON $table FOR EACH ROW BEGIN "
            . "IF $when THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = "
            . "'refused by the test'; END IF; END//", 'DELIMITER ;');
    }
    else {
        WCIM::DB::script(undef, "CREATE FUNCTION ${name}_fn() RETURNS trigger AS "
            . "\$f\$ BEGIN IF $when THEN RAISE EXCEPTION 'refused by the test'; "
            . "END IF; RETURN NEW; END \$f\$ LANGUAGE plpgsql;",
            "CREATE TRIGGER $name BEFORE INSERT ON $table FOR EACH ROW "
            . "EXECUTE PROCEDURE ${name}_fn();");
    }
    schema_settles();
}

sub unfail_inserts {
    my ($table) = @_;
    my $e = WCIM::DB::engine();
    my $name = "${table}_test_fail";
    WCIM::DB::script(undef, $e eq 'pgsql'
        ? ("DROP TRIGGER $name ON $table;", "DROP FUNCTION ${name}_fn();")
        : "DROP TRIGGER $name;");
    schema_settles();
}

# --- item 2: five connections, one signed query, five forged bodies --------
{
    my $nonce = "race$$";
    my $ts = now_ms();
    my $path = "/im/rongcloud?nonce=$nonce&signTimestamp=$ts&signature="
             . sha1_hex($SECRET . $nonce . $ts);
    Apache::TestRequest::module('wcim_messages');
    my $hostport = Apache::TestRequest::hostport();
    my (undef, $port) = split /:/, $hostport;
    my $N = 5;
    my (@socks, @rest);
    for my $i (1 .. $N) {
        my $body = body_of("C-$$-$i", "伪造 $i");
        my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                         Proto => 'tcp', Timeout => 5)
            or die "connect: $!";
        binmode $sock;
        $sock->autoflush(1);
        # headers and half the body: each post is past the signature check
        # and waiting for the rest of its body when the others come
        my $half = int(length($body) / 2);
        print $sock "POST $path HTTP/1.1\r\nHost: $hostport\r\n"
                  . "Content-Type: application/x-www-form-urlencoded\r\n"
                  . 'Content-Length: ' . length($body) . "\r\nConnection: close\r\n\r\n"
                  . substr($body, 0, $half);
        push @socks, $sock;
        push @rest, substr($body, $half);
    }
    Time::HiRes::sleep(1);
    print { $socks[$_] } $rest[$_] for 0 .. $N - 1;
    my @codes;
    for my $sock (@socks) {
        my ($buf, $sel) = ('', IO::Select->new($sock));
        my $deadline = Time::HiRes::time() + 15;
        while ((my $left = $deadline - Time::HiRes::time()) > 0) {
            last unless $sel->can_read($left);
            last unless sysread $sock, $buf, 65536, length $buf;
        }
        close $sock;
        push @codes, length $buf ? HTTP::Response->parse($buf)->code : 599;
    }
    my %n;
    $n{$_}++ for @codes;
    is(stored_like("C-$$-%"), 1, "$N concurrent posts under one signed query: one stored")
        or diag("answers: @codes");
    is($n{200} // 0, 1, 'one answered 200');
    is($n{401} // 0, $N - 1, 'the others 401 (a replay)') or diag("answers: @codes");
    my $res = post(nonce => $nonce, ts => $ts, fields => { msgUID => "C-$$-late" });
    is($res->code, 401, 'the same query once more, afterwards: 401');
    is(stored_like("C-$$-%"), 1, 'still one stored');
}

# --- item 2: a post that could not be stored gives its nonce back ----------
{
    my $uid = "G-$$";
    my %same = (nonce => "giveback$$", ts => now_ms(), fields => { msgUID => $uid });
    fail_inserts('t_im_message', 'msg_uid', $uid);
    my $res = post(%same);
    unfail_inserts('t_im_message');
    is($res->code, 500, 'the message insert fails: 500');
    is(stored_like($uid), 0, 'nothing stored');
    $res = post(%same);
    is($res->code, 200, "RongCloud's retry, the same query: 200");
    is(stored_like($uid), 1, 'and the message is stored');
    $res = post(%same);
    is($res->code, 401, 'once stored, the same query again: 401');
}

# --- the nonce is known with its timestamp: the same nonce under another
# signTimestamp is another signed query (the key digests both) ----------
{
    my ($nonce, $ts) = ("again$$", now_ms());
    my $res = post(nonce => $nonce, ts => $ts, fields => { msgUID => "T-$$-1" });
    is($res->code, 200, 'a post: 200');
    $res = post(nonce => $nonce, ts => $ts + 1000, fields => { msgUID => "T-$$-2" });
    is($res->code, 200, 'the same nonce, another signTimestamp: 200');
    is(stored_like("T-$$-%"), 2, 'both stored');
}

# --- item 8: a long nonce is refused on replay like any other --------------
{
    my $nonce = substr("long$$" . ('x' x 120), 0, 120);
    my %same = (nonce => $nonce, ts => now_ms());
    is(length $nonce, 120, 'a nonce of 120 bytes');
    my $res = post(%same, fields => { msgUID => "L-$$-1" });
    is($res->code, 200, 'its post: 200');
    $res = post(%same, fields => { msgUID => "L-$$-2" });
    is($res->code, 401, 'the same query again, another body: 401');
    is(stored_like("L-$$-%"), 1, 'one stored');
}

# --- item 8: replay protection that cannot be checked refuses (503) -------
{
    my $log = Apache::Test::vars('t_logs') . '/error_log';
    my $before = -s $log;
    fail_inserts('t_im_nonce', 'nonce_key', undef);
    my $res = post(nonce => "down$$", ts => now_ms(), fields => { msgUID => "D-$$" });
    unfail_inserts('t_im_nonce');
    is($res->code, 503, 'the nonce table fails: 503, so that RongCloud tries again');
    is(stored_like("D-$$"), 0, 'nothing stored unchecked');
    my $text = substr(WCIM::Setup::slurp($log), $before);
    like($text, qr/\[weclubs_im:error\].* WCIM0165: .*nonce_add: \S/,
         'logged at error level, with the statement and a database message');
    # on PostgreSQL too: a refused insert is not a lost session, so no
    # PREPARE's "already exists" replaces the insert's own error
    like($text, qr/WCIM0165: .*refused by the test/,
         'the database\'s own message');
}

# --- a site without the table: 503, and the log says which file makes it --
{
    my $log = Apache::Test::vars('t_logs') . '/error_log';
    my $before = -s $log;
    my $res = post(vhost => 'wcim_noncemissing', nonce => "missing$$", ts => now_ms(),
                   fields => { msgUID => "M-$$" });
    is($res->code, 503, 'no t_im_nonce: 503');
    is(stored_like("M-$$"), 0, 'nothing stored unchecked');
    my $dir = WCIM::DB::engine();
    like(substr(WCIM::Setup::slurp($log), $before),
         qr{\[weclubs_im:error\].* WCIM0166: .*t_im_nonce with sql/$dir/nonces\.sql},
         'the log says which file creates the table');
}

done_testing();
