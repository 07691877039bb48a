import { main } from './program';

void main();
