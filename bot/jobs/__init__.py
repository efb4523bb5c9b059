"""Scheduled work: the weekly ranking, daily reminders, notices and pruning (see
:mod:`bot.jobs.schedule`), run by one leader among the processes (:mod:`bot.jobs.leader`)."""
