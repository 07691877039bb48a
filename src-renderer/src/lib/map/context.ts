import { getContext, setContext } from 'svelte';
import type OlMap from 'ol/Map';

const KEY = Symbol('fieldcal-map');

/** Gives child layer components the OpenLayers map. */
export function setMapContext(get: () => OlMap | null): void {
  setContext(KEY, get);
}

/** The OpenLayers map of the enclosing MapView (null until it is mounted). */
export function getMapContext(): () => OlMap | null {
  return getContext<() => OlMap | null>(KEY);
}
