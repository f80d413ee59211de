// Where type=docker (no dest) finds the Docker daemon, and how its answers to a load are read.
import test from 'ava';
import { dockerDaemon, parseLoadAnswer } from '../../exporter/outputs/docker-daemon.ts';

test('the daemon is where the docker CLI looks: DOCKER_HOST, else /var/run/docker.sock', (t) => {
  t.deepEqual(dockerDaemon({}).connect, { socketPath: '/var/run/docker.sock' });
  t.deepEqual(dockerDaemon({ DOCKER_HOST: 'unix:///run/user/0/docker.sock' }).connect, { socketPath: '/run/user/0/docker.sock' });
  t.deepEqual(dockerDaemon({ DOCKER_HOST: 'tcp://10.0.0.5:2375' }).connect, { host: '10.0.0.5', port: 2375 });
  t.deepEqual(dockerDaemon({ DOCKER_HOST: 'tcp://[::1]' }).connect, { host: '::1', port: 2375 });
  t.throws(() => dockerDaemon({ DOCKER_HOST: 'tcp://10.0.0.5:2376', DOCKER_TLS_VERIFY: '1' }), { message: /DOCKER_TLS_VERIFY is set and tsbuild does not speak TLS to Docker/ });
  t.throws(() => dockerDaemon({ DOCKER_HOST: 'ssh://me@host' }), { message: 'cannot load into the Docker daemon: DOCKER_HOST=ssh://me@host is neither unix:///PATH nor tcp://HOST:PORT' });
});

test('a load answer: the images loaded, or the daemon\'s own error', (t) => {
  t.deepEqual(parseLoadAnswer('{"stream":"Loaded image: app:1\\n"}\r\n{"stream":"Loaded image: app:2\\n"}\r\n'), { loaded: ['app:1', 'app:2'] });
  t.deepEqual(parseLoadAnswer('{"stream":"Loaded image ID: sha256:abc\\n"}'), { loaded: ['sha256:abc'] });
  t.deepEqual(parseLoadAnswer('{"errorDetail":{"message":"no space left on device"},"error":"no space left on device"}'), { loaded: [], error: 'no space left on device' });
  t.deepEqual(parseLoadAnswer('{"message":"unexpected EOF"}'), { loaded: [], error: 'unexpected EOF' });
  t.deepEqual(parseLoadAnswer('not json\n'), { loaded: [] });
});
