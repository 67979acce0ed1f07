/*
 * rt_blk_* (workload.h) in the guest: one entry point per call, served by
 * the block driver of the platform in use (rt_platform->blk), so io/
 * bodies never test a platform.  Before a successful rt_blk_open every
 * other call refuses (-ENODEV / NULL / 0): a workload that skipped its
 * valid() check gets an error, not a wild device access.
 */
#include "workload.h"
#include "rt.h"

#define RT_ENODEV 19
#define RT_EINVAL 22

static const struct rt_blk_ops *blk_open_ops; /* set once open succeeded */
static struct rt_blk_info blk_info;

int rt_blk_open(struct rt_blk_info *info, const char **why)
{
	const struct rt_blk_ops *ops = rt_platform->blk;
	int e;

	if (blk_open_ops) {
		*info = blk_info;
		return 0;
	}
	if (!ops) {
		*why = "this platform has no block driver";
		return -RT_ENODEV;
	}
	e = ops->open(&blk_info, why);
	if (e < 0)
		return e;
	blk_open_ops = ops;
	*info = blk_info;
	return 0;
}

void *rt_blk_buf_alloc(size_t bytes)
{
	if (!blk_open_ops || !bytes || bytes % 4096)
		return NULL;
	return blk_open_ops->buf_alloc(bytes);
}

void rt_blk_buf_free(void *p, size_t bytes)
{
	if (blk_open_ops && p)
		blk_open_ops->buf_free(p, bytes);
}

int rt_blk_submit(enum rt_blk_op op, uint64_t sector, void *buf, uint32_t bytes, uint64_t tag)
{
	if (!blk_open_ops)
		return -RT_ENODEV;
	if (op != RT_BLK_FLUSH && (!buf || !bytes || bytes % RT_BLK_SECTOR ||
				   bytes > blk_info.max_bytes || sector >= blk_info.sectors ||
				   bytes / RT_BLK_SECTOR > blk_info.sectors - sector))
		return -RT_EINVAL;
	return blk_open_ops->submit(op, sector, buf, bytes, tag);
}

void rt_blk_kick(void)
{
	if (blk_open_ops)
		blk_open_ops->kick();
}

unsigned rt_blk_poll(uint64_t *tags, int *status, unsigned max)
{
	if (!blk_open_ops || !max)
		return 0;
	return blk_open_ops->poll(tags, status, max);
}
