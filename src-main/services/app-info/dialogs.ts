import { FieldcalError, type AppInfo, type ServiceImpl } from '../../../src-shared/ipc';

/** Why a shell without native dialogs has none, and what the user does instead. */
export function noDialogsReason(mode: AppInfo['mode']): string {
  return mode === 'server'
    ? 'Fieldcal runs in a browser here (fieldcal serve): a web page cannot open a file dialog on the computer that runs Fieldcal, nor learn where a dropped file lives. Type the path instead, or use the desktop app.'
    : 'Native file dialogs exist only in the desktop app: give paths on the command line.';
}

/**
 * The `dialogs` service of a shell without native dialogs (the browser bridge, the CLI): `capabilities`
 * says so and `open` answers a typed `UNAVAILABLE` error naming what to do instead. The desktop app
 * replaces it with `createElectronDialogs` (src-main/app/dialogs.ts).
 */
export function createUnavailableDialogs(mode: AppInfo['mode']): ServiceImpl<'dialogs'> {
  const reason = noDialogsReason(mode);
  return {
    capabilities: () => ({ open: false, reason }),
    open: () => {
      throw new FieldcalError('UNAVAILABLE', reason, { mode, feature: 'dialogs.open' });
    },
  };
}
