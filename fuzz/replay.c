/* A plain driver for a fuzz target (no libFuzzer, any compiler): runs
 * LLVMFuzzerTestOneInput once for each file named on the command line, so
 * that `make check` replays every seed and every past crash of the
 * committed corpus as a regression test. A failed property aborts, as it
 * does under libFuzzer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int i, replayed = 0;

    LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc; ++i) {
        FILE *f = fopen(argv[i], "rb");
        uint8_t *data;
        long size;

        if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
            || fseek(f, 0, SEEK_SET) != 0) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            return 2;
        }
        data = malloc(size ? (size_t)size : 1);
        if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            return 2;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(data, (size_t)size);
        free(data);
        ++replayed;
    }
    printf("%s: %d inputs replayed\n", argv[0], replayed);
    return 0;
}
