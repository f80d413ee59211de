// How signals turn into a cancellation, without a build: the first aborts, a duplicate of it (a
// Ctrl-C that also came through the launcher) is not counted, the next warns, the third forces.
import test from 'ava';
import { isTsbuildError } from '../../src/errors/index.ts';
import { BuildCancelled, cancelOnSignals } from '../../cli/cancel.ts';

test.serial('the first signal aborts with "build cancelled (SIGINT)"; a second cannot cut cleanup short; the third exits', async (t) => {
  const notices: string[] = [];
  const exits: number[] = [];
  const cancel = cancelOnSignals({ notice: (l) => notices.push(l), forceExit: (c) => exits.push(c) });
  try {
    t.false(cancel.signal.aborted);
    process.emit('SIGINT');
    t.true(cancel.signal.aborted);
    const reason = cancel.signal.reason as BuildCancelled;
    t.true(reason instanceof BuildCancelled && isTsbuildError(reason));
    t.is(reason.message, 'build cancelled (SIGINT)');
    t.is(reason.kind, 'cancelled');
    t.is(reason.exitCode, 130);
    // what failed on the way down is reported as the cancellation
    t.is(cancel.explain(new Error('the command was cancelled')), reason);

    process.emit('SIGINT'); // the launcher's copy of the same Ctrl-C
    t.deepEqual(notices, []);
    process.emit('SIGTERM');
    t.is(notices.length, 1);
    t.regex(notices[0], /SIGTERM: still cleaning up/);
    t.deepEqual(exits, []);
    process.emit('SIGHUP');
    t.deepEqual(exits, [129]);
  } finally {
    cancel.dispose();
  }
  t.is(process.listenerCount('SIGINT'), 0);
});

test.serial('without a signal, errors are reported as they are', (t) => {
  const cancel = cancelOnSignals();
  const e = new Error('x');
  t.is(cancel.explain(e), e);
  cancel.dispose();
  cancel.dispose();
  t.is(process.listenerCount('SIGTERM'), 0);
});
