/* The open-loop schedule and its latency accounting (sched.h). */
#include "sched.h"

uint64_t svc_arrival(const struct svc_sched *s, uint64_t i)
{
	return s->t0 + (uint64_t)((unsigned __int128)i * s->hz / s->rate);
}

uint64_t svc_period(const struct svc_sched *s)
{
	return s->hz / s->rate;
}

bool svc_stalled(const struct svc_stall *st, uint64_t seq)
{
	return st->every && (seq + 1) % st->every == 0;
}

/* Wait until the clock reaches t (the environment may wake early). */
static uint64_t wait_for(const struct svc_env *env, uint64_t t)
{
	uint64_t now = env->now(env->arg);

	while (now < t) {
		env->wait_until(env->arg, t);
		now = env->now(env->arg);
	}
	return now;
}

uint64_t svc_serve(const struct svc_sched *s, const struct svc_stall *st, uint64_t seq0,
		   uint64_t n, const struct svc_env *env)
{
	uint64_t period = svc_period(s), late = 0;

	for (uint64_t i = 0; i < n; i++) {
		struct svc_req r = { .i = i, .arrival = svc_arrival(s, i) };

		/* Due already (a backlog): no wait, straight on. */
		(void)wait_for(env, r.arrival);
		if (svc_stalled(st, seq0 + i))
			env->stall(env->arg, st->ticks);
		r.start = env->now(env->arg);
		env->serve(env->arg, seq0 + i);
		r.done = env->now(env->arg);
		r.late = r.start - r.arrival > period;
		late += r.late;
		env->record(env->arg, &r);
	}
	/* The batch is its stretch of the schedule, n periods: a worker that
	 * kept up waits for where request n would arrive, so completions per
	 * second over the batch are the rate (below it only when late). */
	(void)wait_for(env, svc_arrival(s, n));
	return late;
}
