'use strict';
/*
 * SPDX-License-Identifier: ISC
 *
 * node-primary.js - Node's own cluster primary, for the benchmark: fork
 * N workers running APP and let them listen, with Node's default
 * scheduling (round-robin: the primary accepts every connection and
 * passes it to a worker).  SIGHUP replaces the workers one at a time
 * (a new one listening before the old one is disconnected), as a
 * zero-downtime reload written with the cluster module does it.
 *
 *	node node-primary.js N APP
 */

const cluster = require('cluster');

const n = Number(process.argv[2]);
const app = process.argv[3];

if (!(n > 0) || app === undefined) {
	console.error('usage: node node-primary.js N APP');
	process.exit(2);
}

cluster.setupPrimary({ exec: app });

let reloading = false;

function fork()
{
	const w = cluster.fork();

	w.on('exit', (code, signal) => {
		if (!w.exitedAfterDisconnect)
			fork();
	});
	return w;
}

function replace(old, rest)
{
	const w = fork();

	w.once('listening', () => {
		old.disconnect();
		if (rest.length > 0)
			replace(rest[0], rest.slice(1));
		else {
			reloading = false;
			console.log(`primary ${process.pid} reload done`);
		}
	});
}

process.on('SIGHUP', () => {
	const all = Object.values(cluster.workers);

	if (reloading || all.length === 0)
		return;
	reloading = true;
	replace(all[0], all.slice(1));
});

process.on('SIGTERM', () => {
	for (const w of Object.values(cluster.workers))
		w.disconnect();
	cluster.disconnect(() => process.exit(0));
});

let up = 0;
for (let i = 0; i < n; i++)
	fork().once('listening', () => {
		if (++up === n)
			console.log(`primary ${process.pid} ready`);
	});
