"""One tiny engine per behaviour, as Cog keeps one tiny predictor per behaviour: each
misbehaves in exactly one way and is otherwise the well-behaved FakeEngine
(tests/support/fake_engine.py). tests/worker/test_engine_behaviours.py shows what a user
sees through the HTTP API when a worker runs each.

    crashes.py       CrashingEngine     RuntimeError inside generate (a bug, a dead library)
    job_error.py     JobErrorEngine     JobError with a message meant for the user
    hangs.py         HangingEngine      blocks past the lease, never checking cancelled()
    wrong_frames.py  WrongFramesEngine  one frame fewer than the task asked for
    short_audio.py   ShortAudioEngine   audio half as long as the frames
    killed.py        KilledEngine       os._exit in the middle of generate: the process dies

In a worker process: REELFORGE_ENGINE=tests.support.engines.<module>:<class>.
"""
