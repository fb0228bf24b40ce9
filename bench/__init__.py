"""orderdesk's benchmarks: one ``bench_<topic>.py`` module each, run by ``make bench``."""
