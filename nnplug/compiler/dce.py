"""Dead-step elimination: drop steps whose outputs nothing uses (folding and fusion leave such steps)."""


def eliminate_dead_steps(steps, live_out):
    live, kept = set(live_out), []
    for step in reversed(steps):
        if step.keep or any(o in live for o in step.outs):
            kept.append(step)
            live.update(step.ins)
    return kept[::-1]
