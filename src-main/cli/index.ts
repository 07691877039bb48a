import { preferPassiveOpenMp } from '../services/compute/native/openmp';
import { main } from './program';

// before any job thread loads the native addon (libgomp reads it then)
preferPassiveOpenMp();

// A closed pipe (`fieldcal inspect --values | head`) ends output quietly, as other CLI tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
void main();
