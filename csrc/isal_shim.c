/*
 * ISA-L gzip inflate for audit2role (cargo feature `isal`). This file owns ISA-L's
 * `struct inflate_state`, so the Rust side (src/source/isal.rs) only holds an opaque
 * pointer and never depends on the layout of ISA-L's structures or its return codes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <isa-l/igzip_lib.h>

/* Results of a2r_isal_step; src/source/isal.rs mirrors these. */
#define A2R_ISAL_OK 0          /* progress made, member not finished */
#define A2R_ISAL_MEMBER_END 1  /* a whole member (header, data, CRC32, ISIZE) was checked */
#define A2R_ISAL_BAD_HEADER 2  /* not a gzip header, or a method other than deflate */
#define A2R_ISAL_CORRUPT 3     /* invalid deflate data */
#define A2R_ISAL_CHECKSUM 4    /* CRC32 or ISIZE (or header CRC) does not match */
#define A2R_ISAL_INTERNAL 5    /* ISA-L left more room than it was given (never expected) */

/* Largest buffer length handed to ISA-L in one call (its lengths are 32-bit). */
#define A2R_ISAL_MAX_CHUNK ((size_t)1 << 30)

static void a2r_isal_start_member(struct inflate_state *s)
{
	isal_inflate_reset(s);
	/* Parse the gzip header and verify the CRC32/ISIZE trailer. */
	s->crc_flag = ISAL_GZIP;
	s->hist_bits = 0;
}

/* A new decoder positioned before a gzip member, or NULL when out of memory. */
void *a2r_isal_new(void)
{
	struct inflate_state *s = malloc(sizeof(*s));
	if (s == NULL)
		return NULL;
	isal_inflate_init(s);
	a2r_isal_start_member(s);
	return s;
}

/* Prepares the decoder for the next member of a multi-member stream. */
void a2r_isal_reset(void *state)
{
	a2r_isal_start_member((struct inflate_state *)state);
}

void a2r_isal_free(void *state)
{
	free(state);
}

/*
 * Inflates from `in` into `out`. On return *consumed bytes of `in` were used (ISA-L may
 * keep some of them buffered internally) and *produced bytes of `out` were written.
 */
int a2r_isal_step(void *state, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
		  size_t *consumed, size_t *produced)
{
	struct inflate_state *s = (struct inflate_state *)state;
	int ret;

	if (in_len > A2R_ISAL_MAX_CHUNK)
		in_len = A2R_ISAL_MAX_CHUNK;
	if (out_len > A2R_ISAL_MAX_CHUNK)
		out_len = A2R_ISAL_MAX_CHUNK;
	/* ISA-L only reads through next_in; the cast drops const for its API. */
	s->next_in = (uint8_t *)in;
	s->avail_in = (uint32_t)in_len;
	s->next_out = out;
	s->avail_out = (uint32_t)out_len;

	ret = isal_inflate(s);

	/* Counts are only meaningful within this call's buffers; never report them wrapped. */
	if (s->avail_in > in_len || s->avail_out > out_len) {
		*consumed = 0;
		*produced = 0;
		return A2R_ISAL_INTERNAL;
	}
	*consumed = in_len - s->avail_in;
	*produced = out_len - s->avail_out;

	switch (ret) {
	case ISAL_DECOMP_OK:
		return s->block_state == ISAL_BLOCK_FINISH ? A2R_ISAL_MEMBER_END : A2R_ISAL_OK;
	case ISAL_INVALID_WRAPPER:
	case ISAL_UNSUPPORTED_METHOD:
		return A2R_ISAL_BAD_HEADER;
	case ISAL_INCORRECT_CHECKSUM:
		return A2R_ISAL_CHECKSUM;
	default:
		/* Invalid block, symbol or lookback; a dictionary request cannot occur in gzip. */
		return A2R_ISAL_CORRUPT;
	}
}
