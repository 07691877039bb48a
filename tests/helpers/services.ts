import type { AppInfo } from '../../src-shared/ipc';
import { createServices, type ServiceContainer } from '../../src-main/services';
import { tempDir } from './tmp';

/** Every service on a fresh temporary folder, as one test's world; `cleanup` disposes both. */
export function testServices(mode: AppInfo['mode'] = 'cli'): {
  dir: string;
  services: ServiceContainer;
  cleanup: () => void;
} {
  const tmp = tempDir();
  const services = createServices({
    mode,
    version: 'test',
    paths: { userData: tmp.dir, resources: tmp.dir, sampleData: tmp.dir },
  });
  return {
    dir: tmp.dir,
    services,
    cleanup: () => {
      services.dispose();
      tmp.cleanup();
    },
  };
}
