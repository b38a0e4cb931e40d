# Every directive in the source is documented in docs/directives.md (with
# its syntax, default and context) and in docs/configuration.md's table, and
# nothing documented there is missing from the source; the defaults and
# contexts shown are the code's (mod_weclubs_im_defaults.h), and every
# handler is in the reference. Every relative link
# of the README, docs/*.md and bench/README.md leads to a file that exists
# (and a heading or anchor in it, when it names one); the README's index
# links every page of docs/ and bench/README.md, and stays a first reader's
# length; docs/hacking.md's table of log-tag ranges is the one checked here.
use strict;
use warnings;

use Cwd ();
use File::Temp ();
use FindBin ();
use Test::More;

my $top = "$FindBin::Bin/..";
sub slurp { local $/; open my $fh, '<', $_[0] or die "$_[0]: $!"; scalar <$fh> }

my $src = slurp("$top/mod_weclubs_im_directives.c");
my @directives = $src =~ /AP_INIT_\w+\(\s*"(\w+)"/g;
cmp_ok(scalar @directives, '>=', 19, 'directives found in the source');

my $doc = slurp("$top/docs/directives.md");
my $config = slurp("$top/docs/configuration.md");
my %sections;
while ($doc =~ /^## (\w+)\n(.*?)(?=^## |\z)/msg) {
    $sections{$1} = $2;
}
for my $d (@directives) {
    my $s = $sections{$d};
    ok(defined $s, "$d has a section in docs/directives.md") or next;
    like($s, qr/^\| Syntax \| `\Q$d\E[ `]/m, "$d: syntax");
    like($s, qr/^\| Default \| /m, "$d: default");
    like($s, qr/^\| Context \| /m, "$d: context");
    like($s, qr/```apache\n.*\Q$d\E/s, "$d: an example");
    like($config, qr/^\| `\Q$d\E[ `]/m, "$d: in docs/configuration.md's directive table");
}
my %in_source = map { $_ => 1 } @directives;
for my $d (grep { /^WeclubsIM/ } keys %sections) {
    ok($in_source{$d}, "documented $d exists in the source");
}

# Each directive's default and context as the code has them: defined once,
# in mod_weclubs_im_defaults.h's WCIM_DIRECTIVES (which the setters and
# wcim_conf_finish use), and read here through the C preprocessor, so that
# a default is what the code compiles to (WCIM_STR(WCIM_DEFAULT_...) is
# "10"), not what a regexp makes of C.
my %facts;
{
    my ($fh, $in) = File::Temp::tempfile('facts-XXXXXX', SUFFIX => '.c',
                                         TMPDIR => 1, UNLINK => 1);
    print $fh qq{#include "mod_weclubs_im_defaults.h"\n},
              qq{#define FACT(name, context, dflt) \@fact name context dflt\n},
              qq{WCIM_DIRECTIVES(FACT)\n};
    close $fh;
    my $cc = $ENV{CC} || 'cc';
    my $out = qx{$cc -E -P -I'$top' '$in'};
    is($?, 0, "$cc -E reads mod_weclubs_im_defaults.h");
    for my $fact (split /\@fact/, $out // '') {
        next unless $fact =~ /^\s*(\w+)\s+(\w+)\s+(.*?)\s*$/s;
        my ($d, $context, $dflt) = ($1, $2, $3);
        if ($dflt eq 'NULL') {
            $dflt = undef;
        } else {
            # adjacent string literals, as C joins them
            my @parts = $dflt =~ /\G\s*"((?:[^"\\]|\\.)*)"/gc;
            ok(@parts && $dflt =~ /\G\s*\z/gc, "$d: its default is a string")
                or diag($dflt);
            $dflt = join '', map { s/\\(.)/$1/gr } @parts;
        }
        $facts{$d} = { context => $context, dflt => $dflt };
    }
}
is_deeply([sort keys %facts], [sort @directives],
          'mod_weclubs_im_defaults.h has every directive of wcim_cmds');

my %context_text = (VHOST  => 'server config, virtual host',
                    GLOBAL => 'server config');
# The code spans of a Default cell, each without the directive's name in
# front: `WeclubsIMRongCloudTimeout 10` is "10".
sub spans {
    my ($d, $cell) = @_;
    return map { s/^\Q$d\E(?: |$)//r } $cell =~ /`([^`]*)`/g;
}
# A default shows as its code spans, in order (several for a directive
# given several times, "; " apart in the code); words may follow
# ("(7 days)"). With no default in the code, the cell shows no value.
sub default_ok {
    my ($d, $cell, $where) = @_;
    my $want = $facts{$d}{dflt};
    my @got = spans($d, $cell);
    if (!defined $want) {
        my @values = grep { /^\Q$d\E/ } $cell =~ /`([^`]*)`/g;
        ok(!@values, "$d: no default in the code, none in $where")
            or diag("$where shows: $cell");
        return;
    }
    my @want = split /; /, $want;
    is(join(' | ', map { $_ // '' } @got[0 .. $#want]), join(' | ', @want),
       "$d: the default in $where is the code's")
        or diag("${where}'s cell: $cell");
}

my %config_row;
for my $line (split /\n/, $config) {
    next unless $line =~ /^\| `(WeclubsIM\w+)[ `]/;
    # cells apart at | not written \|
    my @cells = map { s/^\s+|\s+$//gr } split /(?<!\\)\|/, $line;
    $config_row{$1} = { dflt => $cells[2], what => $cells[3] };
}
for my $d (sort keys %facts) {
    my $s = $sections{$d} // next;
    my ($context) = $s =~ /^\| Context \| (.*?) \|$/m;
    is($context, $context_text{$facts{$d}{context}},
       "$d: the context in docs/directives.md is the code's");
    my ($default) = $s =~ /^\| Default \| (.*?) \|$/m;
    default_ok($d, $default // '', 'docs/directives.md');
    my $row = $config_row{$d} // next;
    default_ok($d, $row->{dflt} // '', "docs/configuration.md's table");
    my $global = $facts{$d}{context} eq 'GLOBAL';
    is(($row->{what} // '') =~ /^Main server only\./ ? 1 : 0, $global ? 1 : 0,
       "$d: docs/configuration.md's table says \"Main server only\" "
       . ($global ? 'as' : 'unless') . " the code has it so");
}
my ($only) = $config
    =~ /except\s+the\s+\w+\s+marked\s+"Main\s+server\s+only"\s+\(([^)]*)\)/;
is_deeply([sort(($only // '') =~ /`(\w+)`/g)],
          [sort grep { $facts{$_}{context} eq 'GLOBAL' } keys %facts],
          'docs/configuration.md names the directives of the main server '
          . 'only');

# Every handler the module answers for (SetHandler) is in the reference's
# list of handlers.
my @handlers = slurp("$top/mod_weclubs_im.h")
               =~ /^#define WCIM_\w*HANDLER "([^"]+)"/mg;
cmp_ok(scalar @handlers, '>=', 4, 'handlers found in mod_weclubs_im.h');
my ($handler_list) = $doc =~ /^Handlers:\n\n(.*?)\n\n(?!- )/ms;
for my $h (@handlers) {
    like($handler_list // '', qr/^- `\Q$h\E`: /m,
         "the handler $h is in docs/directives.md's list");
}

# Every log tag (WCIMLOGNO) is used once, in the range of its file, so a
# tag in a log says where it came from.
my %range = (
    'mod_weclubs_im.c'           => [1, 99],
    'modules/wcim_api.c'         => [100, 119],
    'modules/wcim_tokens.c'      => [120, 129],
    'modules/wcim_groupsync.c'   => [130, 139],
    'modules/wcim_ctx.c'         => [140, 149],
    'modules/wcim_route_apply.c'      => [150, 169],
    'mod_weclubs_im_handler.c'   => [200, 209],
    'mod_weclubs_im_request.c'   => [210, 219],
    'mod_weclubs_im_callback.c'  => [250, 279],
    'mod_weclubs_im_sync.c'      => [280, 299],
    'modules/wcim_rongcloud.c'   => [300, 399],
    'mod_weclubs_im_cache.c'     => [400, 499],
    'mod_weclubs_im_health.c'    => [500, 509],
    'mod_weclubs_im_status.c'    => [510, 549],
    'mod_weclubs_im_config.c'    => [550, 569],
    'mod_weclubs_im_directives.c' => [570, 599],
    'modules/wcim_reconcile.c'   => [600, 639],
    'mod_weclubs_im_reconcile.c' => [640, 659],
    'modules/wcim_prefetch.c'    => [660, 669],
);
my (%where, @dup, @out);
for my $file (glob("$top/*.c"), glob("$top/modules/*.c")) {
    (my $rel = $file) =~ s{^\Q$top\E/}{};
    my $text = slurp($file);
    for my $n ($text =~ /WCIMLOGNO\((\d+)\)/g) {
        push @dup, "WCIM$n in $rel and $where{$n}" if $where{$n};
        $where{$n} = $rel;
        my $r = $range{$rel};
        push @out, "WCIM$n in $rel" unless $r && $n >= $r->[0] && $n <= $r->[1];
    }
}
cmp_ok(scalar keys %where, '>=', 60, 'log tags found');
is(scalar @dup, 0, 'every log tag is used once') or diag(join "\n", @dup);
is(scalar @out, 0, "every log tag is in its file's range") or diag(join "\n", @out);

# docs/hacking.md shows the same ranges, so a new file's range is written
# down where developers look for it.
my ($tags) = slurp("$top/docs/hacking.md") =~ /^## Log tags\n(.*?)(?=^## |\z)/ms;
my %documented;
while (($tags // '') =~ /^\| `([^`]+)` \| (\d+)-(\d+) \|$/mg) {
    $documented{$1} = [$2, $3];
}
is_deeply(\%documented, \%range, "docs/hacking.md's log-tag table is this test's");

# --- links ---------------------------------------------------------------
# Markdown as a reader sees it: no links or headings inside fenced code
# blocks or code spans. Anchors are GitHub's: a heading's text in lower
# case, without punctuation, spaces made hyphens, -1, -2... for repeats;
# or an explicit <a id="..."> / name="...".
sub utf8_slurp {
    local $/;
    open my $fh, '<:encoding(UTF-8)', $_[0] or die "$_[0]: $!";
    scalar <$fh>;
}
sub prose_lines {
    my ($text) = @_;
    my ($fence, @lines);
    for my $line (split /\n/, $text) {
        if ($line =~ /^\s*(```|~~~)/) {
            $fence = $fence ? undef : 1;
            next;
        }
        next if $fence;
        (my $l = $line) =~ s/(`+).*?\1//g;     # code spans
        push @lines, $l;
    }
    return @lines;
}
my %anchors_of;
sub anchors {
    my ($file) = @_;
    return $anchors_of{$file} if $anchors_of{$file};
    my (%a, %seen);
    for my $l (prose_lines(utf8_slurp($file))) {
        $a{$1} = 1 while $l =~ /<a\s+(?:id|name)="([^"]+)"/g;
        next unless $l =~ /^#{1,6}\s+(.*?)\s*#*\s*$/;
        (my $h = lc $1) =~ s/\[([^\]]*)\]\([^)]*\)/$1/g;
        $h =~ s/<[^>]*>//g;
        $h =~ s/[^\p{Word}\- ]//g;
        $h =~ tr/ /-/;
        my $n = $seen{$h}++;
        $a{$n ? "$h-$n" : $h} = 1;
    }
    return $anchors_of{$file} = \%a;
}

my @pages = ("$top/README.md", glob("$top/docs/*.md"), "$top/bench/README.md");
my (@bad, %from_readme, $links);
for my $page (@pages) {
    (my $rel = $page) =~ s{^\Q$top\E/}{};
    (my $dir = $page) =~ s{/[^/]*$}{};
    for my $l (prose_lines(utf8_slurp($page))) {
        while ($l =~ /!?\[[^\]]*\]\(\s*([^)\s]*)(?:\s+"[^"]*")?\s*\)/g) {
            my $target = $1;
            next if $target =~ /^[a-z][a-z0-9+.-]*:/i;      # http:, mailto:
            ++$links;
            # the user's document keeps its link to the index of the whole
            # weclubs documentation, which is not part of this tree
            next if $target eq '' && $rel eq 'docs/im-api.md';
            my ($path, $frag) = $target =~ /^([^#]*)(?:#(.*))?$/;
            my $file = $path eq '' ? $page : "$dir/$path";
            if ($path ne '' && !-e $file) {
                push @bad, "$rel: $target: no such file";
                next;
            }
            $from_readme{Cwd::abs_path($file)} = 1 if $rel eq 'README.md';
            next unless defined $frag;
            if ($file !~ /\.md$/) {
                push @bad, "$rel: $target: an anchor in a file that is not Markdown";
            } elsif (!anchors($file)->{$frag}) {
                push @bad, "$rel: $target: no such heading or anchor";
            }
        }
    }
}
cmp_ok($links // 0, '>=', 40, 'relative links found in the README and docs');
is(scalar @bad, 0, 'every relative link leads somewhere') or diag(join "\n", @bad);

# The README is the index: a newcomer finds every page from it.
my @unlisted = grep { !$from_readme{Cwd::abs_path($_)} }
               grep { $_ ne "$top/README.md" } @pages;
is(scalar @unlisted, 0, "the README links every page of docs/ and bench/README.md")
    or diag(join "\n", @unlisted);
my $readme_lines = () = slurp("$top/README.md") =~ /\n/g;
cmp_ok($readme_lines, '<=', 250, "the README stays a first reader's length");

done_testing();
