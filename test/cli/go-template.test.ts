// `--format` (cli/go-template.ts): json lines, Go templates, table.
import test from 'ava';
import { formatItems } from '../../cli/go-template.ts';

const items = [{ Repository: 'app', Tag: '1', Config: { Env: ['A=1', 'B=2'], Labels: { b: '2', a: '1' } } }, { Repository: 'busybox', Tag: 'latest', Config: { Env: null } }];

test('json prints one object a line; a template prints fields as Go would', (t) => {
  t.is(formatItems(items, 'json'), `${JSON.stringify(items[0])}\n${JSON.stringify(items[1])}\n`);
  t.is(formatItems(items, '{{.Repository}}:{{.Tag}}'), 'app:1\nbusybox:latest\n');
  t.is(formatItems(items.slice(0, 1), '{{.Config.Env}} {{json .Config.Env}} {{.Config.Labels}}'), '[A=1 B=2] ["A=1","B=2"] map[a:1 b:2]\n');
  t.is(formatItems(items.slice(1), '{{.Config.Env}} {{.Config.Missing}}'), '<nil> <no value>\n');
  t.is(formatItems(items, 'table {{.Repository}}\\t{{.Tag}}'), 'REPOSITORY   TAG\napp          1\nbusybox      latest\n');
});

test('what it cannot evaluate is refused with the fields it has', (t) => {
  t.throws(() => formatItems(items, '{{.Nope}}'), { message: /"Nope" is not a field/ });
  t.throws(() => formatItems(items, '{{range .Config.Env}}{{.}}{{end}}'), { message: /cannot evaluate/ });
  t.throws(() => formatItems(items, '{{.Repository'), { message: '--format: an action is not closed in "{{.Repository"' });
  t.throws(() => formatItems(items, '{{.Repository}} {{'), { message: /an action is not closed/ });
  t.is(formatItems(items.slice(0, 1), '{{.Tag}}}}'), '1}}\n', 'a lone }} is text, as in Go');
});
