# Every directive in the source is documented in docs/directives.md (with
# its syntax, default and context) and in docs/configuration.md's table,
# and nothing documented there is missing from the source.
use strict;
use warnings;

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

# Every log tag (WCIMLOGNO) is used once, in the range of its file, so a
# tag in a log says where it came from.
my %range = (
    'mod_weclubs_im.c'           => [1, 99],
    'modules/wcim_api.c'         => [100, 119],
    'modules/wcim_tokens.c'      => [120, 129],
    'modules/wcim_groupsync.c'   => [130, 139],
    'modules/wcim_ctx.c'         => [140, 149],
    'modules/wcim_routes.c'      => [150, 169],
    'mod_weclubs_im_handler.c'   => [200, 249],
    'mod_weclubs_im_callback.c'  => [250, 279],
    'mod_weclubs_im_sync.c'      => [280, 299],
    'modules/wcim_rongcloud.c'   => [300, 399],
    'mod_weclubs_im_cache.c'     => [400, 499],
    'mod_weclubs_im_health.c'    => [500, 509],
    'mod_weclubs_im_status.c'    => [510, 549],
    'mod_weclubs_im_config.c'    => [550, 569],
    'mod_weclubs_im_directives.c' => [570, 599],
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

done_testing();
